// Output files that appear whole or not at all: written under a temporary name in the target's
// folder, flushed to disk, then renamed over the target.
#pragma once
#include <cstddef>
#include <span>
#include <string>

namespace cartesian {

/// A file written under a temporary name next to `target`. commit() flushes it to disk and
/// renames it over the target; destroyed without commit() (an error, an exception) it removes
/// the temporary file, so nothing is left at the target or beside it.
class AtomicFile {
 public:
  /// Creates the temporary file; throws Failure(other) when the folder takes no new file.
  explicit AtomicFile(std::string target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// The temporary file's path, for writers that open files by name (DCMTK).
  const std::string& temp_path() const { return m_temp; }
  /// Appends bytes; throws Failure(other) on a write error (a full disk).
  void write(std::span<const std::byte> bytes);
  /// fsync, rename over the target, fsync the folder; throws Failure(other).
  void commit();

 private:
  [[noreturn]] void fail(const std::string& why) const;
  std::string m_target;
  std::string m_temp;
  int m_fd = -1;
  bool m_committed = false;
};

/// Makes SIGINT, SIGTERM and SIGHUP remove the temporary file being written before the
/// process ends by that signal, so an interrupted run leaves no file behind either.
void remove_temporary_file_on_signals();

}  // namespace cartesian
