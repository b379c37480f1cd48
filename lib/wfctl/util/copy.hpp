#pragma once
// Copying bytes while hashing them, the work of every upload and download. SHA-256 (about
// 1.5 GB/s with SHA-NI) is the slowest step, so it runs on a second thread beside the copy.
#include <cstdint>
#include <functional>
#include <string>

#include <wfctl/util/io.hpp>

namespace wfctl {

/// What was copied: the byte count and the lower-case hex SHA-256 of those bytes.
struct Copied {
  std::uint64_t size = 0;
  std::string sha256;
};

/// Called with the bytes copied so far after each chunk; may throw to stop the copy.
using ChunkFn = std::function<void(std::uint64_t done)>;

/// `after_chunk` preceded by a hint to the kernel to start writing `fd`'s dirty pages to disk
/// every 64 MiB, so that a final fsync does not wait for the whole file at once.
ChunkFn with_writeback(int fd, ChunkFn after_chunk);

/// Streams `source` to `sink` in 1 MiB buffers (two, alternating: one is hashed in the
/// background while the other is filled and written). Memory stays bounded whatever the
/// size. Throws what source, sink or `after_chunk` throw.
Copied copy_hashed(const ReadFn& source, const WriteFn& sink, const ChunkFn& after_chunk = {});

/// Copies the regular file `in_fd` (from offset 0 to its end) to `out_fd` (at its position):
/// this thread maps the source in 8 MiB windows and hands each to a hashing thread and to a
/// writing thread. Where `out_fd` is a regular file whose file system takes O_DIRECT, the
/// file is allocated up front and two threads write alternate windows with O_DIRECT (the
/// unaligned tail goes through the page cache); elsewhere one thread writes them in order
/// through the cache. No byte is copied through a user-space buffer, and at most five windows
/// are mapped at a time (files up to 4 MiB: one mapping, on this thread alone). `after_chunk`
/// runs on this thread with the bytes both written and hashed, whenever that grows; what it
/// throws stops the copy within a few milliseconds, and the target's length is then
/// unspecified (callers discard it). Files that cannot be mapped (and empty ones, which may
/// be /proc files) are streamed with copy_hashed. Throws Error(conflict, "<what> changed while
/// it was being copied") when the source's size or mtime moved during the copy (a source that
/// shrinks below a mapping included), since the hash may then not describe the copy.
/// Messages name the source `what` and the target `out_what`.
Copied copy_file_hashed(int in_fd, int out_fd, const std::string& what, const ChunkFn& after_chunk = {},
                        const std::string& out_what = {});

}  // namespace wfctl
