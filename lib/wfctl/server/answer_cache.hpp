#pragma once
// The answers of `wfctl serve` to GET by id, kept while the store's version stays the same
// (Store::data_version): a repeated read is then answered without a read transaction. Every
// answer belongs to one version; the first answer kept for a newer one drops the others.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <wfctl/store/store.hpp>

namespace wfctl::server {

class AnswerCache {
 public:
  /// Bounds: an answer past them makes room by dropping others; one larger than max_bytes
  /// is not kept.
  explicit AnswerCache(std::size_t max_answers = 4096, std::size_t max_bytes = 16u << 20)
      : m_max_answers(max_answers), m_max_bytes(max_bytes) {}

  /// Copies the answer kept for `key` at `version` into `body`; false when there is none.
  bool find(std::int64_t key, const StoreVersion& version, std::string& body) const;
  /// Keeps `body` as the answer for `key` at `version`, which the caller read entirely
  /// between two looks at the store that both gave `version`.
  void keep(std::int64_t key, const StoreVersion& version, const std::string& body);
  /// How many answers are kept (for tests).
  std::size_t size() const;

 private:
  const std::size_t m_max_answers, m_max_bytes;
  mutable std::mutex m_mutex;
  std::optional<StoreVersion> m_version;
  // Shared, so that an answer is copied out after the lock is let go.
  std::unordered_map<std::int64_t, std::shared_ptr<const std::string>> m_answers;
  std::size_t m_bytes = 0;
};

}  // namespace wfctl::server
