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
