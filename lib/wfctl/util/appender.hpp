#pragma once
// Writing a stream that arrives in pieces (an upload through `wfctl serve`) to a file while
// hashing it, at the speed of a local copy: the pieces are gathered into page-aligned blocks
// that other threads hash and write with O_DIRECT, so the page cache's writeback (about a
// quarter of the disk's speed for gigabytes on a virtual disk) is not in the way.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <wfctl/util/copy.hpp>

namespace wfctl {

/// Appends bytes handed over in pieces of any size to the regular file `fd` (from its
/// position, at a page boundary, with nothing after it) and hashes them. The pieces are
/// copied into 4 MiB page-aligned blocks; each full block is hashed on one thread and written
/// on another (two writers with O_DIRECT where the file system takes it, as copy_file_hashed
/// does), while the caller goes on filling the next. At most four blocks are held, so memory
/// stays at 16 MiB whatever the size; append waits while all four are in flight. A stream
/// that ends within its first block starts no thread: it is hashed and written by finish.
/// Not for use from several threads at once.
class Appender {
 public:
  /// Messages name the file `what`.
  Appender(int fd, std::string what);
  Appender(Appender&&) noexcept;
  Appender& operator=(Appender&&) noexcept;
  Appender(const Appender&) = delete;
  Appender& operator=(const Appender&) = delete;
  /// Without finish: stops the threads within one block's write; the file's length and
  /// content are then unspecified (callers discard it).
  ~Appender();

  /// Appends `n` bytes. Throws Error for a failed write of an earlier block (a full disk),
  /// which then stops the stream: later calls throw again.
  void append(const char* data, std::size_t n);
  /// The bytes appended so far.
  std::uint64_t size() const;
  /// Writes what is left, waits for every block to be written and hashed, leaves the
  /// descriptor's position after the last byte, and returns the size and SHA-256. Nothing may
  /// be appended after it. Does not fsync.
  Copied finish();

 private:
  class Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace wfctl
