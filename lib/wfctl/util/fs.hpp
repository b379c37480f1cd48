#pragma once
// POSIX file helpers: an owning descriptor, EINTR-safe reads and writes, durable atomic
// replacement. Every failure is a wfctl::Error whose message names the file and the errno.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <wfctl/error.hpp>
#include <wfctl/util/io.hpp>

namespace wfctl {

/// An owned file descriptor, closed on destruction (close errors are ignored there: data
/// that must be durable is fsynced explicitly before).
class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : m_fd(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  /// The descriptor, or -1 when empty.
  int get() const noexcept { return m_fd; }
  explicit operator bool() const noexcept { return m_fd >= 0; }
  /// Gives up ownership; returns the descriptor (-1 when empty).
  int release() noexcept {
    int fd = m_fd;
    m_fd = -1;
    return fd;
  }
  /// Closes the current descriptor (if any) and owns `fd` instead.
  void reset(int fd = -1) noexcept;

 private:
  int m_fd = -1;
};

/// Closes `file`, a descriptor of a file that has no name left (unlinked, or replaced by a
/// rename), so that freeing its blocks does not hold up this process: ext4 takes about 0.2 s
/// per GiB, in the system call that drops the last reference. For a file of 64 MiB or more
/// that last reference is a detached grandchild process's (double fork, setsid), which closes
/// it once this process has let go and which nobody waits for; a process that is killed
/// drops its references all the same, so nothing is ever left behind. Smaller files, a file
/// that still has a name, or a failed fork: closed here. Never throws.
void close_unlinked(UniqueFd file) noexcept;

/// Opens a file the user named for reading: its descriptor, or Error("cannot read <what>:
/// <strerror>") of the errno table's kind (a directory is EISDIR: usage), where `what` is how
/// messages name the file (its path when empty).
UniqueFd open_for_reading(const std::string& path, std::string_view what = {});

/// `bytes` (at most 16) random bytes from getrandom() as lower-case hex, for unique temporary
/// file names; throws Error.
std::string random_hex(std::size_t bytes);

/// Flushes `fd`'s data and metadata to disk, retrying on EINTR; throws Error naming `what`.
void fsync_fd(int fd, std::string_view what);

/// Flushes a directory's entries to disk (after a create, rename or unlink in it); throws
/// Error.
void fsync_dir(const std::filesystem::path& dir);

/// Writes all `n` bytes, retrying on EINTR and short writes; throws Error naming `what`
/// (the file, or "fd N" when empty).
void write_all(int fd, const void* data, std::size_t n, std::string_view what = {});

/// Reads up to `cap` bytes, retrying on EINTR; returns 0 only at end of file; throws Error
/// naming `what` (the file, or "fd N" when empty).
std::size_t read_some(int fd, void* buf, std::size_t cap, std::string_view what = {});

/// A ReadFn over `fd` (not owned; hinted as sequential); errors name `what`.
ReadFn fd_reader(int fd, std::string what = {});

/// A WriteFn over `fd` (not owned); errors name `what`.
WriteFn fd_writer(int fd, std::string what = {});

/// 0666 less the umask: the permissions of every file a command writes for the user (a
/// download, a preview, an exported DICOM file), as cp or a compiler would create it.
inline constexpr std::filesystem::perms k_output_file_perms =
    std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
    std::filesystem::perms::group_read | std::filesystem::perms::group_write |
    std::filesystem::perms::others_read | std::filesystem::perms::others_write;

/// A unique hidden name beside `target` for a file on its way there: ".NAME.tmp-PID-RANDOM".
/// Throws Error.
std::filesystem::path hidden_temp_path(const std::filesystem::path& target);

/// A file that appears at `target` only once committed, whole. It is written as an unnamed
/// file in the target's directory (O_TMPFILE), so that a process killed before the commit
/// leaves nothing behind; where the file system has no unnamed files, as a hidden temporary
/// file beside the target (hidden_temp_path) that the destructor removes.
///
/// Permissions, the one rule for every file wfctl writes: `perms` less the umask, given at
/// creation and never changed afterwards. Owner read and write (the default) for the user's
/// own state, such as the config file; k_output_file_perms for what a command writes for the
/// user to use.
class AtomicFile {
 public:
  /// Creates the file with `perms` (less the umask); throws Error naming `target`.
  explicit AtomicFile(std::filesystem::path target,
                      std::filesystem::perms perms = std::filesystem::perms::owner_read |
                                                     std::filesystem::perms::owner_write);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// The file's descriptor, to write into; -1 once parked.
  int fd() const { return m_fd.get(); }
  /// How messages name the file being written: its target.
  std::string what() const { return m_target.string(); }
  /// Flushes the file to disk now rather than in commit() (once); throws Error.
  void sync();
  /// For a caller that holds more files than it may keep open: sync()s the file, gives it a
  /// hidden name beside the target (which a process killed before the commit leaves behind)
  /// and closes its descriptor. commit() then moves that name. Throws Error.
  void park();
  /// sync()s the file, moves it to the target (over an existing one with `replace`, else
  /// Error(conflict, "<target> already exists") and nothing changes), and fsyncs the directory.
  void commit(bool replace);

 private:
  void replace_target();  // renames m_temp over m_target

  std::filesystem::path m_target, m_temp;  // m_temp: empty while the file has no name
  UniqueFd m_fd;
  bool m_synced = false;
  bool m_committed = false;
};

/// Where an output path leads, symbolic links followed (to the file they name, which may not
/// exist yet), and what is there.
struct OutputPath {
  enum class Kind { missing, regular, directory, special };  // special: a device, FIFO or socket
  std::filesystem::path path;
  Kind kind = Kind::missing;
};
/// Resolves `path` for writing; throws Error("cannot write <path>: <why>") of the errno table's
/// kind when it cannot be looked at (a parent that is a file, no permission, a link loop).
OutputPath resolve_output(const std::filesystem::path& path);

/// Writes `bytes` to an output path as a command's result: into a device or FIFO as it is
/// (`--png /dev/stdout`), else replacing the file a symbolic link names, or the file itself,
/// atomically (AtomicFile) with `perms` less the umask. Throws Error.
void write_output(const std::filesystem::path& path, std::string_view bytes, std::filesystem::perms perms);

/// Replaces `path` with `content` so that a reader or a crash sees the old or the new file,
/// never a mix: a temporary file in the same directory, fsync, rename, fsync of the directory.
/// Missing parent directories are created; a symlink at `path` is written through (its
/// target is replaced, the link kept). Throws Error; on failure the old file is untouched.
void write_file_atomic(const std::filesystem::path& path, std::string_view content,
                       std::filesystem::perms perms = std::filesystem::perms::owner_read |
                                                      std::filesystem::perms::owner_write);

}  // namespace wfctl
