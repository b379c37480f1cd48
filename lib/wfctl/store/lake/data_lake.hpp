#pragma once
// The data lake: records/{record_id}/{name} holds a record's files (the ScanHub layout, which an
// external reconstruction service also writes into), tmp/ holds uploads in progress. Only the
// file system lives here; metadata rows are the index's, whatever index a store keeps (the local
// store's SQLite, later a shared database), so any store can reuse this part.
//
// Nothing is ever written outside records/{id}/ and tmp/: every step below the root is
// opened with openat(O_NOFOLLOW), so a symlinked records/, records/{id} or tmp/ is refused
// with Error(permission) instead of followed. The root itself may be a symlink (the user
// chose it).
//
// Name rules, beyond what the file system needs: names travel through JSON, HTTP headers and
// terminals, so invalid UTF-8 and C1 controls are refused as well as ASCII controls, and a
// leading or trailing space (invisible in a listing) too. Other Unicode is accepted as is
// (no normalisation). Percent signs are literal: "%2e%2e" is a file, not a traversal.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <wfctl/model/result.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/appender.hpp>
#include <wfctl/util/copy.hpp>
#include <wfctl/util/io.hpp>

namespace wfctl::lake {

class DataLake;

/// One regular file of the lake, as stat() saw it.
struct LakeFile {
  RecordId record = 0;
  std::string name;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint64_t inode = 0;
};

/// A complete, fsynced temporary file under <root>/tmp/; removed on destruction unless it
/// was published.
class StagedFile {
 public:
  StagedFile(StagedFile&& other) noexcept;
  StagedFile& operator=(StagedFile&& other) noexcept;
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  ~StagedFile();

  /// The temporary file's path (for a verification step before publishing); empty once
  /// published.
  const std::filesystem::path& path() const { return m_path; }
  /// The number of bytes staged.
  std::uint64_t size() const { return m_size; }
  /// The lower-case hex SHA-256 of the staged bytes.
  const std::string& sha256() const { return m_sha256; }

 private:
  friend class DataLake;
  friend class Staging;
  StagedFile() = default;
  void discard() noexcept;

  UniqueFd m_dir;      // <root>/tmp, so that removal and publish never re-resolve the path
  std::string m_name;  // the entry in m_dir; empty once published or discarded
  std::filesystem::path m_path;
  std::uint64_t m_size = 0;
  std::string m_sha256;
};

/// A file just published by DataLake::publish, which can still be taken back: destroyed
/// without commit(), it removes the new file and puts back the one it replaced, so that a
/// failed index write leaves the lake as it was.
class Publication {
 public:
  Publication(Publication&&) noexcept = default;
  Publication& operator=(Publication&&) = delete;
  Publication(const Publication&) = delete;
  Publication& operator=(const Publication&) = delete;
  ~Publication();

  /// The published file's stat.
  const LakeFile& file() const { return m_file; }
  /// Makes the publication final: the replaced file's last link goes; its space is freed
  /// here when small, else by a detached process (close_unlinked) a moment later.
  void commit() noexcept;

 private:
  friend class DataLake;
  Publication() = default;

  UniqueFd m_record;  // records/{record}
  UniqueFd m_tmp;     // tmp/, holding the replaced file's backup link
  std::string m_name, m_backup;  // m_backup empty: nothing was replaced
  LakeFile m_file;
  bool m_done = false;
};

/// Files moved out of records/{record}/ into tmp/ by DataLake::remove_files: commit() deletes
/// them for good; destroyed without commit(), the object puts them back.
class Removal {
 public:
  Removal(Removal&&) noexcept = default;
  Removal& operator=(Removal&&) = delete;
  Removal(const Removal&) = delete;
  Removal& operator=(const Removal&) = delete;
  ~Removal();

  /// Deletes the moved files, and the record folder when that is left empty; never throws
  /// (what cannot be deleted now is swept later as a stale temporary folder).
  void commit() noexcept;
  /// The names moved, in the order given.
  const std::vector<std::string>& names() const { return m_names; }

 private:
  friend class DataLake;
  Removal() = default;
  void restore() noexcept;

  UniqueFd m_records;  // records/
  UniqueFd m_record;   // records/{record}
  UniqueFd m_tmp;      // tmp/
  UniqueFd m_trash;    // tmp/delete-PID-RANDOM, holding the moved files
  std::string m_folder, m_trash_name;
  std::vector<std::string> m_names;  // moved so far
  bool m_done = false;
};

/// A staging file filled chunk by chunk (an upload a server receives as pushed chunks):
/// append() writes and hashes, finish() fsyncs and returns the staged file. Destroyed
/// before finish(), it removes the file. Used by one thread.
class Staging {
 public:
  Staging(Staging&&) noexcept = default;
  // No move assignment: it would close the old file before stopping its Appender's threads.
  Staging& operator=(Staging&&) = delete;
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  /// Appends `n` bytes (gathered into blocks that other threads hash and write: see
  /// Appender); throws Error of the errno table's kind (a full disk).
  void append(const char* data, std::size_t n);
  /// The bytes appended so far.
  std::uint64_t size() const { return m_out ? m_out->size() : 0; }
  /// Fsyncs the file and returns it staged, ready for DataLake::publish.
  StagedFile finish();

 private:
  friend class DataLake;
  Staging() = default;
  DataLake* m_lake = nullptr;
  StagedFile m_staged;
  UniqueFd m_fd;
  std::optional<Appender> m_out;  // after m_fd: its threads stop before the file closes
};

/// The data-lake folder under one root directory, created on first write. Safe to use from
/// several threads and processes at once.
class DataLake {
 public:
  explicit DataLake(std::filesystem::path root);
  DataLake(const DataLake&) = delete;
  DataLake& operator=(const DataLake&) = delete;

  /// Throws Error(invalid_input, "unsafe file name '...': <why>") unless `name` is one safe
  /// path component: not empty, ".", or ".."; no '/', '\\', ASCII or C1 control character;
  /// valid UTF-8; at most 255 bytes; no leading or trailing space.
  static void check_name(std::string_view name);
  /// Throws Error(invalid_input) unless `record` is in 1..INT64_MAX.
  static void check_record(RecordId record);

  /// Copies `source` into a new temporary file under tmp/ (from a mapping, past the page
  /// cache, when it is a regular file: copy_file_hashed), hashing on a second thread, and
  /// fsyncs it; returns it staged. Throws what `source` throws, or Error for I/O failures;
  /// nothing is left behind on failure. Also removes temporary files of dead processes
  /// (once per DataLake).
  StagedFile stage(const ByteSource& source);
  /// A new, empty staging file under tmp/, to be filled with Staging::append.
  Staging begin_staging();

  /// Moves `staged` to records/{record}/{name} atomically (readers see the wholly old or
  /// wholly new file) and fsyncs the folder; with `force` a file there is replaced, and kept
  /// as a link in tmp/ until the publication is committed. Throws Error(conflict) when the
  /// file exists and !force, Error(invalid_input) for a bad name or record id,
  /// Error(permission) when records/{record} is a symlink.
  Publication publish(StagedFile& staged, RecordId record, const std::string& name, bool force);

  /// The stat of records/{record}/{name}, or nullopt when it is absent or not a regular
  /// file. Throws Error(invalid_input) for a bad name or record id.
  std::optional<LakeFile> stat(RecordId record, const std::string& name) const;

  /// Every regular file of one record (or of all records), sorted by record then name.
  /// Folders that are not canonical record ids ("7", not "007"), names that fail check_name,
  /// symlinks and anything else that is not a regular file are skipped; empty when nothing is
  /// stored. Throws Error(permission) when records/ or the one named record folder is a
  /// symlink.
  std::vector<LakeFile> scan(std::optional<RecordId> record) const;

  /// Opens records/{record}/{name} for reading without following a symlink; returns the
  /// descriptor and the fstat of that very descriptor, or nullopt when it is absent or not a
  /// regular file.
  std::optional<std::pair<UniqueFd, LakeFile>> open(RecordId record, const std::string& name) const;

  /// Moves the named files of records/{record}/ out of sight (into a folder under tmp/), all
  /// or nothing: a failure puts back those already moved. Throws Error(not_found) naming the
  /// first name that is absent or not a regular file, Error(invalid_input) for a bad name.
  Removal remove_files(RecordId record, const std::vector<std::string>& names);

  /// The root directory given at construction.
  const std::filesystem::path& root() const { return m_root; }

 private:
  friend class Staging;
  void remove_stale_temp_files(int tmp_dir) noexcept;
  UniqueFd open_staging(StagedFile& staged);
  void finish_staging(int fd, StagedFile& staged, const Copied& copied);

  std::filesystem::path m_root;
  std::once_flag m_swept;
};

/// `name` for messages: control characters, invalid UTF-8 and backslashes as \xNN, cut
/// after 64 bytes with "...".
std::string escape_name(std::string_view name);

}  // namespace wfctl::lake
