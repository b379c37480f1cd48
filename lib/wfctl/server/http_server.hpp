#pragma once
// The HTTP server `wfctl serve` runs on, with no HTTP library's types: the core (routes,
// auth, CORS, access log, shutdown) speaks to this interface, and the module wfctl-httpd.so
// implements it over GNU libmicrohttpd. Debian's libmicrohttpd.so brings GnuTLS and its
// libraries, which every start of every other command would load: only `wfctl serve` loads
// the module.
//
// Both sides are built from one tree with one compiler, so standard-library types cross the
// boundary; k_module_abi changes whenever anything below does.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wfctl::http {

inline constexpr int k_module_abi = 3;

/// Header or query fields in the order received (header names as sent).
using Fields = std::vector<std::pair<std::string, std::string>>;

/// Called with each chunk of a body; returning false stops reading (the connection closes).
using DataFn = std::function<bool(const char* data, std::size_t size)>;

/// The headers of one part of a multipart/form-data body.
struct PartHeader {
  std::string name, filename, content_type;
};
/// Called at the start of each part; returning false stops reading.
using PartFn = std::function<bool(const PartHeader& part)>;

/// One request, as the core sees it; valid during the handler call only.
struct Request {
  std::string method;          // "GET", "HEAD", "POST", ...
  std::string path;            // the target's path as sent, still percent-encoded, no query
  Fields query;                // the query parameters, percent-decoded
  Fields headers;
  std::string remote_addr;
  int remote_port = -1;
  /// Streams the body into `fn` (once; empty bodies call nothing); false when the client
  /// went away, the body was malformed or `fn` stopped it.
  std::function<bool(const DataFn& fn)> read_body;
  /// Streams a multipart/form-data body: `part` at the start of each part, then `data` with
  /// its bytes; false as read_body. Set only for a multipart body.
  std::function<bool(const PartFn& part, const DataFn& data)> read_multipart;

  /// The first header of this name (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (equal_ignoring_case(k, name)) return &v;
    return nullptr;
  }
  /// The first query parameter of this name, or nullptr.
  const std::string* param(std::string_view name) const {
    for (const auto& [k, v] : query)
      if (k == name) return &v;
    return nullptr;
  }

  static bool equal_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      char x = a[i], y = b[i];
      if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
      if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
      if (x != y) return false;
    }
    return true;
  }
};

/// Writes a chunk of a streamed body; false once the client went away.
using WriteFn = std::function<bool(const char* data, std::size_t size)>;

/// One answer. Either `body` (with `content_type`) or, for a streamed body, `provider`
/// with `content_length`: the provider is called once, after the headers were sent (never
/// for HEAD), and writes exactly content_length bytes through its WriteFn; returning false
/// (or writing fewer) drops the connection, so a short body is never taken for a whole one.
struct Response {
  int status = 200;
  Fields headers;
  std::string content_type;
  std::string body;
  std::optional<std::uint64_t> content_length;
  std::function<bool(const WriteFn& write)> provider;
  bool close_connection = false;  // after this answer (a body left unread)

  void set_header(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

/// Handles every request: routes, auth, errors. Must not throw (the module answers 500 then).
using Handler = std::function<void(Request& req, Response& res)>;
/// Whether the handler answers a request without a body at once: it waits for nothing but a
/// read of the store (no lock held by others, no other server, no long poll). Such a request
/// runs on the I/O thread that received it; any other on one of ServerSettings::threads.
using QuickFilter = std::function<bool(const Request& req)>;
/// For `Expect: 100-continue`: returns 100 to let the body come, or the status (with `res`
/// filled) to answer at once.
using ExpectHandler = std::function<int(Request& req, Response& res)>;
/// Fills the answer to a request the library refused itself (a malformed request line 400,
/// a body past the payload limit 413, ...): `res.status` is set; the core gives the body.
using ErrorHandler = std::function<void(Response& res)>;

/// What the access log gets once an answer was sent.
struct LogEntry {
  std::string_view method, path, remote_addr;
  int status = 0;
  std::uint64_t bytes = 0;  // of the body
  double ms = -1;           // from the request line to the last byte; negative when unknown
};
using LogHandler = std::function<void(const LogEntry& entry)>;

/// The tunables of a server, set before bind().
struct ServerSettings {
  std::size_t threads = 8;     // handlers running at once
  std::size_t io_threads = 0;  // threads serving the connections; 0: one per core
  int read_timeout_seconds = 30, write_timeout_seconds = 30;
  int keep_alive_timeout_seconds = 5;
  std::size_t keep_alive_max_count = 100000;  // requests on one connection
  std::uint64_t payload_max_length = UINT64_MAX;
};

/// An HTTP/1.1 server on one address. Thread-safe: stop() may be called from any thread.
class Server {
 public:
  virtual ~Server() = default;
  virtual void set_settings(const ServerSettings& settings) = 0;
  virtual void set_handler(Handler handler) = 0;
  /// Without one, every request runs on a handler thread.
  virtual void set_quick_filter(QuickFilter filter) = 0;
  virtual void set_expect_handler(ExpectHandler handler) = 0;
  virtual void set_error_handler(ErrorHandler handler) = 0;
  virtual void set_log_handler(LogHandler handler) = 0;
  /// Binds `host`:`port` (0: any free port); returns the bound port, or -1 with errno set.
  virtual int bind(const std::string& host, int port) = 0;
  /// Serves the bound socket until stop(); returns false when it failed by itself.
  virtual bool listen() = 0;
  /// Stops accepting and ends listen() once the running requests ended.
  virtual void stop() = 0;
  /// After stop(), when the grace is over: a handler still waiting for a body learns that it
  /// will not come (read_body returns false), and listen() ends once the handlers have
  /// returned, closing the connections whose clients are still sending.
  virtual void cancel() = 0;
};

namespace detail {
struct ModuleApi {
  int abi;
  Server* (*make_server)();  // the object lives in the module; delete through Server
};
}  // namespace detail

/// A new server from wfctl-httpd.so (loaded on first use). Throws Error(not_supported) when
/// the module cannot be loaded.
std::unique_ptr<Server> make_server();

}  // namespace wfctl::http

/// The module's one exported symbol.
extern "C" const wfctl::http::detail::ModuleApi* wfctl_httpd_module();
