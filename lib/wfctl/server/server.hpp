#pragma once
// `wfctl serve`: the ScanHub workflow manager's REST contract (shared/reference/scanhub-api.md)
// answered over any Store, with the reference's defects fixed, plus the extensions of
// docs/serve-api.md. The HTTP library is behind server/http_server.hpp, in a module.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <wfctl/jobs/transport.hpp>
#include <wfctl/store/store.hpp>
#include <wfctl/util/cancel.hpp>

namespace wfctl::server {

/// How the server listens and what it accepts.
struct ServeOptions {
  std::string listen = "127.0.0.1:8001";  // HOST:PORT, [V6]:PORT; port 0 picks a free port
  std::string prefix = "/api/v1/workflow";  // every route lives under it
  int threads = 0;                           // request threads; 0: max(4, 2 x cores)
  std::uint64_t max_upload_size = std::uint64_t{4} << 30;  // bytes of one uploaded file; more: 413
  std::optional<std::string> token;          // bearer token every route but health requires
  std::vector<std::string> cors_origins;     // origins answered with Access-Control-Allow-Origin
  Cancel stop;                               // once cancelled: stop accepting, finish, return
  /// Asked every 100 ms as well as `stop` (the CLI's signal count, which leaves the store's
  /// own token alone so that running requests can still commit); may be empty.
  std::function<bool()> stop_requested;
  std::chrono::milliseconds grace{10000};    // from stop to cancelling requests still running
  /// Receives one access-log line per request (no newline); default: standard error.
  std::function<void(const std::string&)> log;
};

/// A listen address split into host and port.
struct ListenAddress {
  std::string host;
  int port = 0;
};
/// Parses HOST:PORT or [V6]:PORT (port 0..65535); throws Error(usage, "invalid --listen ...").
ListenAddress parse_listen(std::string_view text);

/// The token in a --token-file: its content with surrounding whitespace trimmed. Throws
/// Error(usage) when it is empty or the file is readable by everyone, Error of the errno
/// table's kind when it cannot be read.
std::string read_token_file(const std::string& path);

/// Parses a byte count with an optional K, M or G suffix (powers of 1024); throws
/// Error(usage) naming `flag` for anything else or zero.
std::uint64_t parse_size(std::string_view text, std::string_view flag);

/// Serves until options.stop is cancelled, then stops accepting, lets running requests finish
/// (cancelling them after the grace period) and returns. Calls `on_listening` once with the
/// bound HOST:PORT (the real port when 0 was asked). Throws Error(usage) for a bad option,
/// Error(unavailable) when the address cannot be bound.
void serve(Store& store, Transport& transport, const ServeOptions& options,
           const std::function<void(const std::string& bound)>& on_listening);

}  // namespace wfctl::server
