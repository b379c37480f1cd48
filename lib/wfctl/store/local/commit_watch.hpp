#pragma once
// Tells, without a transaction, whether anything was committed to a WAL database since the
// last look: the header of SQLite's shared-memory WAL index (https://sqlite.org/walformat.html,
// section 2.2.1) changes with every commit, made by any connection of any process. Readers
// that cache what they read (the answers of `wfctl serve`) check it instead of opening a read
// transaction, which costs more than the rest of their answer.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <wfctl/store/local/sqlite.hpp>

namespace wfctl::sqlite {

class CommitWatch {
 public:
  /// The WAL index header, in SQLite's own bytes: 12 words.
  using Header = std::array<std::uint32_t, 12>;

  /// A watch of the database file at `path` through a read-only connection of its own, which
  /// keeps the index mapped; nullptr when there is no index to watch: the database is not in
  /// WAL mode, or cannot be opened or mapped here.
  static std::unique_ptr<CommitWatch> open(const std::string& path);

  /// The header of the last commit; nullopt while a commit is writing it (its two copies
  /// differ) or when the index is not initialised. Two equal headers mean that no commit came
  /// between the two looks. Safe from any thread.
  std::optional<Header> header() const;

 private:
  CommitWatch(std::unique_ptr<Database> db, const volatile std::uint32_t* index)
      : m_db(std::move(db)), m_index(index) {}

  std::unique_ptr<Database> m_db;            // holds the mapping of the index
  const volatile std::uint32_t* m_index;     // the start of the index: its two header copies
};

}  // namespace wfctl::sqlite
