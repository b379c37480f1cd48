// The HTTP server around the routes: binding, bearer-token check, access log, errors that
// httplib answers itself, and a graceful stop.
#include <wfctl/server/server.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <mutex>
#include <thread>

#include "http.hpp"

namespace wfctl::server {

namespace {

using Clock = std::chrono::steady_clock;

// When the request this thread handles started (set before routing; reset after logging).
thread_local Clock::time_point t_started{};

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
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') out += fmt::format("\\x{:02x}", u);
    else out += c;
  }
  return out;
}

// The reason phrase of what httplib answers by itself.
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

class Server {
 public:
  Server(Store& store, Transport& transport, const ServeOptions& options)
      : m_ctx{store, transport, options, Cancel::make()}, m_options(options) {}

  void run(const std::function<void(const std::string&)>& on_listening);

 private:
  void install_routes();
  // The route part of a path under the prefix, or nullopt for a path outside it.
  std::optional<std::string_view> under_prefix(std::string_view path) const;
  bool authorized(const httplib::Request& req) const;
  void log(const httplib::Request& req, const httplib::Response& res);

  Context m_ctx;
  const ServeOptions& m_options;
  std::string m_prefix;
  httplib::Server m_http;
  std::mutex m_log_mutex;
};

std::optional<std::string_view> Server::under_prefix(std::string_view path) const {
  if (path.substr(0, m_prefix.size()) != m_prefix) return std::nullopt;
  auto rest = path.substr(m_prefix.size());
  if (!rest.empty() && rest.front() != '/') return std::nullopt;  // "/api/v1/workflows"
  return rest;
}

bool Server::authorized(const httplib::Request& req) const {
  if (!m_options.token) return true;
  auto rest = under_prefix(req.path);
  if (rest && (*rest == "/health/readiness" || *rest == "/health/readiness/")) return true;
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view scheme = "Bearer ";
  if (header.size() < scheme.size()) return false;
  std::string given_scheme = header.substr(0, scheme.size());
  for (auto& c : given_scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (given_scheme != "bearer ") return false;
  return constant_time_equal(std::string_view(header).substr(scheme.size()), *m_options.token);
}

void Server::log(const httplib::Request& req, const httplib::Response& res) {
  std::size_t bytes = res.body.empty() ? res.content_length_ : res.body.size();
  std::string ms = "-";
  if (t_started != Clock::time_point{}) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t_started).count();
    ms = fmt::format("{:.1f}ms", static_cast<double>(us) / 1000.0);
  }
  t_started = {};
  // The path only: a query may carry what must not be logged, and so may headers.
  auto line = fmt::format("wfctl serve: {} {} \"{}\" {} {} {}", req.remote_addr, log_escape(req.method),
                          log_escape(req.path), res.status, bytes, ms);
  std::lock_guard lock(m_log_mutex);
  if (m_options.log) m_options.log(line);
  else {
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }
}

void Server::install_routes() {
  auto plain = [this](const httplib::Request& req, httplib::Response& res) {
    auto rest = under_prefix(req.path);
    if (!rest) return send_detail(res, 404, "Not Found");
    route(m_ctx, req, res, *rest, nullptr);
  };
  auto with_reader = [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    auto rest = under_prefix(req.path);
    if (!rest) return send_detail(res, 404, "Not Found");
    route(m_ctx, req, res, *rest, &reader);
  };
  m_http.Get(".*", plain);
  m_http.Delete(".*", plain);
  m_http.Patch(".*", plain);
  m_http.Options(".*", plain);
  m_http.Post(".*", httplib::Server::HandlerWithContentReader(with_reader));
  m_http.Put(".*", httplib::Server::HandlerWithContentReader(with_reader));

  m_http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (t_started == Clock::time_point{}) t_started = Clock::now();
    if (authorized(req)) return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("WWW-Authenticate", "Bearer");
    send_detail(res, 401, "Not authenticated");
    return httplib::Server::HandlerResponse::Handled;
  });
  // Refuses an upload before its body is sent when the client asks first (curl does for
  // large bodies), and checks the token there too.
  m_http.set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_started = Clock::now();
    if (!authorized(req)) {
      res.set_header("WWW-Authenticate", "Bearer");
      send_detail(res, 401, "Not authenticated");
      return 401;
    }
    const std::uint64_t length = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
    // The multipart envelope around the file is small; a body past limit + 1 MiB cannot fit.
    if (length > m_options.max_upload_size + (std::uint64_t{1} << 20)) {
      send_detail(res, 413, fmt::format("the file is larger than the upload limit of {} bytes", m_options.max_upload_size));
      return 413;
    }
    return 100;
  });
  // What httplib answers itself (a malformed request, a route it never reached) in the
  // contract's shape; our own answers already have a body.
  m_http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty() || res.content_length_ > 0) return httplib::Server::HandlerResponse::Unhandled;
    send_detail(res, res.status, reason(res.status));
    return httplib::Server::HandlerResponse::Handled;
  }));
  m_http.set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string why = "unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      why = e.what();
    } catch (...) {
    }
    {
      std::lock_guard lock(m_log_mutex);
      std::fprintf(stderr, "wfctl serve: internal error on %s %s: %s\n", log_escape(req.method).c_str(),
                   log_escape(req.path).c_str(), why.c_str());
    }
    send_detail(res, 500, "Internal Server Error");
  });
  m_http.set_logger([this](const httplib::Request& req, const httplib::Response& res) { log(req, res); });
}

void Server::run(const std::function<void(const std::string&)>& on_listening) {
  m_prefix = m_options.prefix;
  while (!m_prefix.empty() && m_prefix.back() == '/') m_prefix.pop_back();
  if (!m_options.prefix.empty() && m_options.prefix.front() != '/')
    throw Error(ErrorKind::usage, fmt::format("invalid --prefix '{}': must start with '/'", m_options.prefix));
  if (m_options.threads < 1) throw Error(ErrorKind::usage, "--threads must be at least 1");
  auto address = parse_listen(m_options.listen);
  install_routes();
  const int threads = m_options.threads;
  m_http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  m_http.set_keep_alive_timeout(5);
  m_http.set_read_timeout(30);
  m_http.set_write_timeout(30);

  int port = address.port;
  errno = 0;
  if (port == 0) port = m_http.bind_to_any_port(address.host);
  else if (!m_http.bind_to_port(address.host, port)) port = -1;
  if (port < 0) {
    int err = errno;
    throw Error(ErrorKind::unavailable,
                fmt::format("cannot listen on {}{}", m_options.listen, err ? std::string(": ") + std::strerror(err) : ""));
  }
  const bool v6 = address.host.find(':') != std::string::npos;
  std::string bound = v6 ? fmt::format("[{}]:{}", address.host, port) : fmt::format("{}:{}", address.host, port);

  // The stop watcher: on a stop request, stop accepting (listen_after_bind then waits for
  // the request threads); after the grace period, cancel the requests still running.
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
    m_http.stop();
    if (!cv.wait_for(lock, m_options.grace, [&] { return done; })) m_ctx.requests.cancel();
  });
  on_listening(bound);
  bool ok = m_http.listen_after_bind();
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  cv.notify_all();
  watcher.join();
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
