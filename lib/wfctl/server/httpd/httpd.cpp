// wfctl-httpd.so: the HTTP server interface (server/http_server.hpp) over cpp-httplib. Only
// the translation between httplib's types and the interface's lives here; every decision
// (routes, auth, errors, logging) is the core's.
#include <httplib.h>

#include <chrono>
#include <exception>
#include <memory>
#include <wfctl/server/http_server.hpp>

namespace wfctl::http {

namespace {

using Clock = std::chrono::steady_clock;

// When the request this thread handles started; reset by the logger.
thread_local Clock::time_point t_started{};

void mark_started() {
  if (t_started == Clock::time_point{}) t_started = Clock::now();
}

// The interface's view of an httplib request. The path stays percent-encoded (httplib decodes
// req.path, which would turn a%2Fb into a/b): it is cut from the raw target.
Request view(const httplib::Request& req, const httplib::ContentReader* reader) {
  Request r;
  r.method = req.method;
  auto q = req.target.find('?');
  r.path = q == std::string::npos ? req.target : req.target.substr(0, q);
  r.query.reserve(req.params.size());
  for (const auto& [k, v] : req.params) r.query.emplace_back(k, v);
  r.headers.reserve(req.headers.size());
  for (const auto& [k, v] : req.headers) r.headers.emplace_back(k, v);
  r.remote_addr = req.remote_addr;
  r.remote_port = req.remote_port;
  if (reader) {
    r.read_body = [reader](const DataFn& fn) { return (*reader)([&fn](const char* d, std::size_t n) { return fn(d, n); }); };
    if (req.is_multipart_form_data()) {
      r.read_multipart = [reader](const PartFn& part, const DataFn& data) {
        return (*reader)(
            [&part](const httplib::MultipartFormData& f) { return part(PartHeader{f.name, f.filename, f.content_type}); },
            [&data](const char* d, std::size_t n) { return data(d, n); });
      };
    }
  } else {
    // httplib read a body of a GET or DELETE before routing.
    const std::string* body = &req.body;
    r.read_body = [body](const DataFn& fn) { return body->empty() || fn(body->data(), body->size()); };
  }
  return r;
}

void apply(const Response& from, httplib::Response& to) {
  to.status = from.status;
  for (const auto& [k, v] : from.headers) to.set_header(k, v);
  if (from.close_connection) to.set_header("Connection", "close");
  if (from.provider && from.content_length && *from.content_length > 0) {
    auto provider = from.provider;
    to.set_content_provider(static_cast<std::size_t>(*from.content_length), from.content_type,
                            [provider](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                              if (offset != 0) return false;  // the provider writes everything at once
                              return provider([&sink](const char* d, std::size_t n) { return sink.write(d, n); });
                            });
  } else if (from.close_connection && !from.body.empty()) {
    // httplib keeps a connection whose request asked for nothing else; a provider that fails
    // after writing the whole body is what ends it (the rest of an unread body is never
    // taken for a next request).
    auto body = std::make_shared<std::string>(from.body);
    to.set_content_provider(body->size(), from.content_type, [body](std::size_t, std::size_t, httplib::DataSink& sink) {
      sink.write(body->data(), body->size());
      return false;
    });
  } else if (!from.content_type.empty() || !from.body.empty()) {
    to.set_content(from.body, from.content_type);
  }
}

class HttplibServer final : public Server {
 public:
  void set_settings(const ServerSettings& s) override { m_settings = s; }
  void set_handler(Handler h) override { m_handler = std::move(h); }
  void set_expect_handler(ExpectHandler h) override { m_expect = std::move(h); }
  void set_error_handler(ErrorHandler h) override { m_error = std::move(h); }
  void set_log_handler(LogHandler h) override { m_log = std::move(h); }

  int bind(const std::string& host, int port) override {
    install();
    if (port == 0) return m_http.bind_to_any_port(host);
    return m_http.bind_to_port(host, port) ? port : -1;
  }
  bool listen() override { return m_http.listen_after_bind(); }
  void stop() override { m_http.stop(); }

 private:
  void handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    mark_started();
    // Ranges are the core's to answer (httplib would cut any body, a JSON error too).
    const_cast<httplib::Request&>(req).ranges.clear();
    Request r = view(req, reader);
    Response out;
    try {
      m_handler(r, out);
    } catch (...) {
      out = Response{};
      out.status = 500;
      out.content_type = "application/json";
      out.body = R"({"detail":"Internal Server Error"})";
    }
    apply(out, res);
  }

  void install() {
    const auto threads = m_settings.threads;
    m_http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    m_http.set_read_timeout(m_settings.read_timeout_seconds, 0);
    m_http.set_write_timeout(m_settings.write_timeout_seconds, 0);
    m_http.set_keep_alive_timeout(m_settings.keep_alive_timeout_seconds);
    m_http.set_keep_alive_max_count(m_settings.keep_alive_max_count);
    m_http.set_payload_max_length(static_cast<std::size_t>(m_settings.payload_max_length));
    // Headers and body leave in separate writes: with Nagle's algorithm the body would wait
    // for the client's delayed ACK of the headers (40 ms a request on Linux).
    m_http.set_tcp_nodelay(true);

    auto plain = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res, nullptr); };
    auto reading = [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
      handle(req, res, &reader);
    };
    // Every path is the core's; "." would not match a decoded newline.
    const std::string any = R"([\s\S]*)";
    m_http.Get(any, plain);
    m_http.Delete(any, plain);
    m_http.Options(any, plain);
    m_http.Post(any, httplib::Server::HandlerWithContentReader(reading));
    m_http.Put(any, httplib::Server::HandlerWithContentReader(reading));
    m_http.Patch(any, httplib::Server::HandlerWithContentReader(reading));

    m_http.set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
      mark_started();
      if (!m_expect) return 100;
      Request r = view(req, nullptr);
      r.read_body = nullptr;
      Response out;
      int status = m_expect(r, out);
      if (status != 100) apply(out, res);
      return status;
    });
    m_http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
      // Answers of our own handler that are errors already have their body.
      if (!res.body.empty() || res.content_length_ > 0 || !m_error) return httplib::Server::HandlerResponse::Unhandled;
      Response out;
      out.status = res.status;
      m_error(out);
      apply(out, res);
      return httplib::Server::HandlerResponse::Handled;
    }));
    m_http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      res.status = 500;
      res.set_content(R"({"detail":"Internal Server Error"})", "application/json");
    });
    m_http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      LogEntry e;
      e.method = req.method;
      e.path = req.path;
      e.remote_addr = req.remote_addr;
      e.status = res.status;
      e.bytes = req.method == "HEAD" ? 0 : (res.body.empty() ? res.content_length_ : res.body.size());
      if (t_started != Clock::time_point{})
        e.ms = std::chrono::duration<double, std::milli>(Clock::now() - t_started).count();
      t_started = {};
      if (m_log) m_log(e);
    });
  }

  ServerSettings m_settings;
  Handler m_handler;
  ExpectHandler m_expect;
  ErrorHandler m_error;
  LogHandler m_log;
  httplib::Server m_http;
};

Server* make() { return new HttplibServer(); }

const detail::ModuleApi k_api{k_module_abi, &make};

}  // namespace

}  // namespace wfctl::http

extern "C" __attribute__((visibility("default"))) const wfctl::http::detail::ModuleApi* wfctl_httpd_module() {
  return &wfctl::http::k_api;
}
