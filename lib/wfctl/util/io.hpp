#pragma once
// Byte streams as plain callbacks, so a store can read from a file, stdin or a socket and
// write to a file, stdout or an HTTP response without knowing which.
#include <cstddef>
#include <functional>

namespace wfctl {

/// Fills up to `cap` bytes into `buf`; returns 0 at end of stream; throws wfctl::Error.
using ReadFn = std::function<std::size_t(char* buf, std::size_t cap)>;
/// Consumes `n` bytes; throws wfctl::Error.
using WriteFn = std::function<void(const char* data, std::size_t n)>;

}  // namespace wfctl

#include <cstdint>
#include <string>

namespace wfctl {

/// Where an upload's bytes come from: always a reader; when the source is a regular file,
/// also its descriptor (positioned at 0), so that a store may copy it in the kernel.
struct ByteSource {
  ByteSource() = default;
  ByteSource(ReadFn r) : read(std::move(r)) {}  // NOLINT: a plain reader is a source
  ReadFn read;
  int file_fd = -1;
  std::string name;  // how messages name the source ("kspace.npy", "<stdin>")
  /// Called with the bytes consumed so far, between chunks; may throw to stop (Ctrl-C).
  std::function<void(std::uint64_t)> progress;
};

/// Where a download's bytes go: always a writer; when the target is an empty regular file,
/// also its descriptor, so that a store may fill it in the kernel.
struct ByteSink {
  ByteSink() = default;
  ByteSink(WriteFn w) : write(std::move(w)) {}  // NOLINT: a plain writer is a sink
  WriteFn write;
  int file_fd = -1;
  std::function<void(std::uint64_t)> progress;
};

}  // namespace wfctl
