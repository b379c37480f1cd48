#pragma once
// A small HTTP client with no libcurl types: the remote store speaks through it. libcurl and
// its ~25 shared libraries live in the module wfctl-curl.so (store/remote/curl/), loaded on the first
// request, so that no other command pays for them at start.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <wfctl/error.hpp>
#include <wfctl/util/cancel.hpp>
#include <wfctl/util/io.hpp>

namespace wfctl::net {

/// Header fields in the order received; names compare case-insensitively.
class Headers {
 public:
  void add(std::string name, std::string value);
  /// The first value of `name`, or nullopt when there is none.
  std::optional<std::string> find(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& all() const { return m_fields; }
  void clear() { m_fields.clear(); }

 private:
  std::vector<std::pair<std::string, std::string>> m_fields;
};

/// A body streamed from a reader whose length is known in advance (Content-Length).
struct StreamBody {
  ReadFn read;
  std::uint64_t size = 0;
  std::string content_type = "application/octet-stream";
};

/// A multipart/form-data body of one file part.
struct FilePart {
  std::string field = "file", filename, content_type = "application/octet-stream";
  ReadFn read;
  std::uint64_t size = 0;
};

/// What a request sends: nothing, a string (with its content type), a stream, one file part.
struct TextBody {
  std::string text;
  std::string content_type = "application/json";
};
using Body = std::variant<std::monostate, TextBody, StreamBody, FilePart>;

struct Request {
  std::string method = "GET";  // GET, HEAD, POST, PUT, DELETE
  std::string url;
  Headers headers;
  Body body;
};

/// Bytes moved so far in each direction, and the totals when known (else 0).
struct TransferProgress {
  std::uint64_t up_done = 0, up_total = 0, down_done = 0, down_total = 0;
};

struct Options {
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds timeout{0};       // the whole transfer; 0: none
  std::chrono::milliseconds idle_timeout{30000};  // no byte moved for this long; 0: none
  std::optional<std::string> ca_file;         // PEM bundle instead of the system's
  bool insecure = false;                      // skip TLS verification (never by default)
  /// Called during the transfer (at least about once a second); may throw to stop it.
  std::function<void(const TransferProgress&)> progress;
  /// Checked during the transfer: Error(interrupted) or Error(timed_out) stops it.
  Cancel cancel;
};

struct Response {
  long status = 0;
  Headers headers;
  std::string body;  // collected unless streamed to a sink (see perform)
  std::uint64_t body_bytes = 0;  // bytes of the body received (streamed or collected)
};

/// Why a transfer failed without a response (the Error kind is always unavailable).
enum class Failure { connect, timeout, tls, dropped, other };

/// A transport failure: Error(unavailable) with curl's message, and what kind of failure it
/// was (a dropped connection is what the reference answers for a missing image).
// Default visibility: wfctl-curl.so throws it across the dlopen boundary.
class __attribute__((visibility("default"))) TransportError : public Error {
 public:
  TransportError(Failure failure, std::string message, std::uint64_t body_bytes, std::string hint = {})
      : Error(ErrorKind::unavailable, std::move(message), std::move(hint)), m_failure(failure),
        m_body_bytes(body_bytes) {}
  Failure failure() const noexcept { return m_failure; }
  /// Body bytes received before the failure (a response's headers may have come).
  std::uint64_t body_bytes() const noexcept { return m_body_bytes; }

 private:
  Failure m_failure;
  std::uint64_t m_body_bytes;
};

/// Called once the response's headers are complete, before any body byte; may throw to stop.
using HeadersFn = std::function<void(long status, const Headers& headers)>;

/// One client; thread-safe: each perform() leases an easy handle from a small pool, so
/// connections are kept alive and reused across calls.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  /// Performs the request; redirects are never followed (a 3xx is returned as it is). With a
  /// `sink`, the body of a 2xx response is streamed to it and Response::body stays empty;
  /// other bodies are collected (the first 1 MiB). Throws TransportError (unavailable) when
  /// no complete response came (connection refused, timeout, TLS verification failure, a
  /// dropped connection), and whatever a callback threw (Error(interrupted) on Ctrl-C).
  virtual Response perform(const Request& request, const Options& options, const WriteFn& sink = {},
                           const HeadersFn& on_headers = {}) = 0;
};

/// A client from wfctl-curl.so, loaded on first use. Throws Error(not_supported) when the
/// module is missing.
std::unique_ptr<HttpClient> make_http_client();

/// Percent-encodes one path segment or query value (RFC 3986 unreserved characters stay).
std::string percent_encode(std::string_view text);

}  // namespace wfctl::net
