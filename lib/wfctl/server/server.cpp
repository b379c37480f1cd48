// The server around the routes: the prefix, bearer-token check, CORS, the access log, what
// the HTTP library refuses by itself, and a graceful stop. The HTTP library itself is behind
// http_server.hpp (the module wfctl-httpd.so).
#include <wfctl/server/server.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <iterator>
#include <mutex>
#include <thread>
#include <wfctl/ops/workflows.hpp>
#include <wfctl/server/log_writer.hpp>
#include <wfctl/version.hpp>

#include "http.hpp"

namespace wfctl::server {

namespace {

// Equal strings, in time that depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b) {
  volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

// A path for the log: control characters, quotes and bytes past ASCII as \xNN.
std::string log_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') out += fmt::format("\\x{:02x}", u);
    else out += c;
  }
  return out;
}

// The reason phrase of what the HTTP library answers by itself.
const char* reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 503: return "Service Unavailable";
    default: return status >= 500 ? "Internal Server Error" : "Bad Request";
  }
}

const char* const k_cors_methods = "GET, HEAD, POST, PUT, DELETE, OPTIONS";
const char* const k_cors_headers = "Authorization, Content-Type, Range, If-None-Match";
const char* const k_cors_expose = "ETag, Repr-Digest, Content-Range, Content-Disposition, Content-Length";

class Server {
 public:
  Server(Store& store, Transport& transport, const ServeOptions& options)
      : m_options(normalized(options)), m_ctx{store, transport, m_options, Cancel::make()},
        m_server_header(fmt::format("wfctl/{}", k_version)), m_log(m_options.log) {}

  void run(const std::function<void(const std::string&)>& on_listening);

 private:
  static ServeOptions normalized(ServeOptions o) {
    if (!o.prefix.empty() && o.prefix.front() != '/')
      throw Error(ErrorKind::usage, fmt::format("invalid --prefix '{}': must start with '/'", o.prefix));
    while (!o.prefix.empty() && o.prefix.back() == '/') o.prefix.pop_back();
    if (o.threads < 0) throw Error(ErrorKind::usage, "--threads must be at least 1");
    if (o.threads == 0) o.threads = static_cast<int>(std::max(4u, 2 * std::max(1u, std::thread::hardware_concurrency())));
    return o;
  }
  // The route part of a path under the prefix, or nullopt for a path outside it.
  std::optional<std::string_view> under_prefix(std::string_view path) const {
    const auto& prefix = m_options.prefix;
    if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
    auto rest = path.substr(prefix.size());
    if (!rest.empty() && rest.front() != '/') return std::nullopt;  // "/api/v1/workflows"
    return rest;
  }
  bool authorized(const Request& req) const;
  bool is_health(std::string_view path) const {
    auto rest = under_prefix(path);
    return rest && (*rest == "/health/readiness" || *rest == "/health/readiness/");
  }
  // The allowed origin of a request from a browser, or nullptr.
  const std::string* cors_origin(const Request& req) const {
    const auto* origin = req.header("Origin");
    if (!origin) return nullptr;
    for (const auto& o : m_options.cors_origins)
      if (o == *origin || o == "*") return origin;
    return nullptr;
  }
  void refuse(Response& res) {
    res.set_header("WWW-Authenticate", "Bearer");
    send_detail(res, 401, "Not authenticated");
  }
  void handle(Request& req, Response& res);
  int expect(Request& req, Response& res);
  void log(const http::LogEntry& e);

  ServeOptions m_options;
  Context m_ctx;
  std::string m_server_header;
  LogWriter m_log;
};

bool Server::authorized(const Request& req) const {
  if (!m_options.token) return true;
  if (is_health(req.path)) return true;
  const std::string* header = req.header("Authorization");
  constexpr std::string_view scheme = "bearer ";
  if (!header || header->size() < scheme.size()) return false;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>((*header)[i])) != scheme[i]) return false;
  return constant_time_equal(std::string_view(*header).substr(scheme.size()), *m_options.token);
}

void Server::handle(Request& req, Response& res) {
  res.set_header("Server", m_server_header);
  try {
    const std::string* origin = cors_origin(req);
    if (origin) {
      res.set_header("Access-Control-Allow-Origin", *origin);
      res.set_header("Vary", "Origin");
      if (req.method == "OPTIONS" && req.header("Access-Control-Request-Method")) {
        // A preflight carries no credentials: answered before the token check.
        res.set_header("Access-Control-Allow-Methods", k_cors_methods);
        res.set_header("Access-Control-Allow-Headers", k_cors_headers);
        res.set_header("Access-Control-Max-Age", "600");
        res.status = 204;
        return;
      }
      res.set_header("Access-Control-Expose-Headers", k_cors_expose);
    }
    // Past the grace of a stop, a request that waited for a handler until now is not begun.
    if (m_ctx.requests.cancelled()) {
      res.set_header("Retry-After", "1");
      return send_detail(res, 503, "the server is shutting down");
    }
    if (!authorized(req)) return refuse(res);
    auto rest = under_prefix(req.path);
    if (!rest) return send_detail(res, 404, "Not Found");
    route(m_ctx, req, res, *rest);
  } catch (const Error& e) {
    send_error(res, e);
  } catch (const std::exception& e) {
    m_log.line(fmt::format("wfctl serve: internal error on {} {}: {}", log_escape(req.method), log_escape(req.path), e.what()));
    send_detail(res, 500, "Internal Server Error");
  }
}

// Refuses a body before it is sent when the client asks first (curl does for large bodies).
int Server::expect(Request& req, Response& res) {
  res.set_header("Server", m_server_header);
  if (!authorized(req)) {
    refuse(res);
    return 401;
  }
  const std::string* length = req.header("Content-Length");
  const std::uint64_t n = length ? std::strtoull(length->c_str(), nullptr, 10) : 0;
  // The multipart envelope around the file is small; a body past limit + 1 MiB cannot fit.
  if (n > m_options.max_upload_size + (std::uint64_t{1} << 20)) {
    send_detail(res, 413, fmt::format("the file is larger than the upload limit of {} bytes", m_options.max_upload_size));
    return 413;
  }
  return 100;
}

void Server::log(const http::LogEntry& e) {
  // The path only: a query may carry what must not be logged, and so may headers.
  fmt::memory_buffer line;
  fmt::format_to(std::back_inserter(line), "wfctl serve: {} {} \"{}\" {} {} ", e.remote_addr, log_escape(e.method),
                 log_escape(e.path), e.status, e.bytes);
  if (e.ms < 0) line.push_back('-');
  else fmt::format_to(std::back_inserter(line), "{:.1f}ms", e.ms);
  m_log.line(std::string_view(line.data(), line.size()));
}

void Server::run(const std::function<void(const std::string&)>& on_listening) {
  auto address = parse_listen(m_options.listen);
  auto http = http::make_server();
  http::ServerSettings settings;
  settings.threads = static_cast<std::size_t>(m_options.threads);
  settings.payload_max_length = m_options.max_upload_size + (std::uint64_t{1} << 20);
  http->set_settings(settings);
  http->set_handler([this](Request& req, Response& res) { handle(req, res); });
  if (m_ctx.store.reads_are_local())
    http->set_quick_filter([this](const Request& req) {
      auto rest = under_prefix(req.path);
      return !rest || quick_route(req.method, *rest);  // outside the prefix: a 404 at once
    });
  http->set_expect_handler([this](Request& req, Response& res) { return expect(req, res); });
  http->set_error_handler([this](Response& res) {
    res.set_header("Server", m_server_header);
    send_detail(res, res.status, reason(res.status));
  });
  http->set_log_handler([this](const http::LogEntry& e) { log(e); });

  errno = 0;
  int port = http->bind(address.host, address.port);
  if (port < 0) {
    int err = errno;
    throw Error(ErrorKind::unavailable,
                fmt::format("cannot listen on {}{}", m_options.listen, err ? std::string(": ") + std::strerror(err) : ""));
  }
  const bool v6 = address.host.find(':') != std::string::npos;
  std::string bound = v6 ? fmt::format("[{}]:{}", address.host, port) : fmt::format("{}:{}", address.host, port);

  // The stop watcher: on a stop request, stop accepting (listen then waits for the request
  // threads); after the grace period, cancel the requests still running, whose writers then
  // store nothing.
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::atomic<bool> stopping{false};
  std::thread watcher([&] {
    std::unique_lock lock(mutex);
    auto asked = [&] { return m_options.stop.cancelled() || (m_options.stop_requested && m_options.stop_requested()); };
    while (!done && !asked()) cv.wait_for(lock, std::chrono::milliseconds(100));
    if (done) return;
    stopping = true;
    http->stop();
    if (!cv.wait_for(lock, m_options.grace, [&] { return done; })) {
      m_ctx.requests.cancel();
      http->cancel();
    }
  });
  on_listening(bound);
  bool ok = http->listen();
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  cv.notify_all();
  watcher.join();
  m_log.flush();
  if (!ok && !stopping) throw Error(ErrorKind::unavailable, "the server stopped listening on " + bound);
}

}  // namespace

ListenAddress parse_listen(std::string_view text) {
  auto bad = [&](const char* why) {
    return Error(ErrorKind::usage, fmt::format("invalid --listen '{}': {}", text, why), "use HOST:PORT, e.g. 127.0.0.1:8001");
  };
  ListenAddress a;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') throw bad("expected [V6]:PORT");
    a.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) throw bad("expected HOST:PORT");
    a.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (a.host.find(':') != std::string::npos) throw bad("write an IPv6 address in brackets");
  }
  if (a.host.empty()) throw bad("the host is missing");
  int value = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 0 || value > 65535)
    throw bad("the port must be a number from 0 to 65535");
  a.port = value;
  return a;
}

std::string read_token_file(const std::string& path) {
  struct stat st {};
  if (path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IROTH))
    throw Error(ErrorKind::usage, fmt::format("--token-file {} is readable by everyone", path),
                fmt::format("chmod o-r {}", path));
  std::string token = read_input(path);
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!token.empty() && space(token.back())) token.pop_back();
  std::size_t start = 0;
  while (start < token.size() && space(token[start])) ++start;
  token.erase(0, start);
  if (token.empty()) throw Error(ErrorKind::usage, fmt::format("--token-file {} is empty", path));
  return token;
}

std::uint64_t parse_size(std::string_view text, std::string_view flag) {
  auto bad = [&] {
    return Error(ErrorKind::usage, fmt::format("invalid {} '{}'", flag, text), "use a number of bytes, optionally with K, M or G (powers of 1024)");
  };
  std::string_view digits = text;
  unsigned shift = 0;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'K': case 'k': shift = 10; break;
      case 'M': case 'm': shift = 20; break;
      case 'G': case 'g': shift = 30; break;
      default: break;
    }
    if (shift) digits.remove_suffix(1);
  }
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value == 0) throw bad();
  if (shift && value > (UINT64_MAX >> shift)) throw bad();
  return value << shift;
}

void serve(Store& store, Transport& transport, const ServeOptions& options,
           const std::function<void(const std::string& bound)>& on_listening) {
  Server server(store, transport, options);
  server.run(on_listening);
}

}  // namespace wfctl::server
