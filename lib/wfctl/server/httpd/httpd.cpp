// wfctl-httpd.so: the HTTP server interface (server/http_server.hpp) over GNU libmicrohttpd.
// Only the translation between libmicrohttpd and the interface lives here; every decision
// (routes, auth, errors, logging) is the core's.
//
// libmicrohttpd runs a thread per connection and pushes a request body to its callback chunk by
// chunk, while the interface's handler pulls the body (read_body) and pushes a streamed answer
// (provider). A request with a body therefore runs its handler on a thread of its own, which
// takes the chunks the connection's thread queues (a bounded window); a streamed answer is written by the
// provider on a thread of its own into a small buffer the connection's thread sends from.
// Requests without a body, the common case, run on the connection's thread. However many
// connections are open, at most ServerSettings::threads handlers run at once.
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <deque>
#include <unordered_set>
#include <vector>
#include <semaphore>
#include <string>
#include <thread>
#include <wfctl/server/http_server.hpp>

namespace wfctl::http {

namespace {

using Clock = std::chrono::steady_clock;

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A query key or value, as a form decodes it ('+' is a space).
std::string query_decoded(const char* s) {
  std::string out;
  for (std::size_t i = 0; s[i]; ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && s[i + 1] && s[i + 2] && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The streamed body of an answer: the provider (on its own thread) writes into `buffer`, the
// connection's thread takes from it; either side going away ends the other.
struct Stream {
  std::function<bool(const WriteFn&)> provider;
  std::uint64_t length = 0;
  std::mutex mutex;
  std::condition_variable cv;
  std::string buffer;
  bool started = false, finished = false, failed = false, gone = false;
  std::thread thread;

  static constexpr std::size_t k_window = 256 * 1024;

  ~Stream() {
    {
      std::lock_guard lock(mutex);
      gone = true;
    }
    cv.notify_all();
    if (thread.joinable()) thread.join();
  }
  bool write(const char* d, std::size_t n) {
    std::unique_lock lock(mutex);
    while (n > 0) {
      cv.wait(lock, [&] { return gone || buffer.size() < k_window; });
      if (gone) return false;
      std::size_t take = std::min(n, k_window - buffer.size());
      buffer.append(d, take);
      d += take;
      n -= take;
      cv.notify_all();
    }
    return true;
  }
  void produce() {
    bool ok = false;
    try {
      ok = provider([this](const char* d, std::size_t n) { return write(d, n); });
    } catch (...) {
      ok = false;
    }
    std::lock_guard lock(mutex);
    finished = true;
    failed = !ok;
    cv.notify_all();
  }
  ssize_t read(std::uint64_t pos, char* out, std::size_t max) {
    std::unique_lock lock(mutex);
    if (!started) {
      started = true;
      thread = std::thread([this] { produce(); });
    }
    cv.wait(lock, [&] { return !buffer.empty() || finished; });
    if (buffer.empty()) {
      // Finished short of the announced length, or failed: the connection must drop.
      return pos >= length && !failed ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
    }
    std::size_t n = std::min(max, buffer.size());
    std::memcpy(out, buffer.data(), n);
    buffer.erase(0, n);
    cv.notify_all();
    return static_cast<ssize_t>(n);
  }
};

// One request: its log fields and, for a request with a body, the hand-over of chunks between
// the connection's thread and the handler's.
struct Call {
  Clock::time_point started = Clock::now();
  std::string method, path, remote_addr;
  int status = 0;
  std::uint64_t bytes = 0;
  bool answered = false;
  bool bodyless = false;

  // The body: the connection's thread queues copies of the chunks; the handler's thread
  // takes them. Up to k_body_window bytes wait, so that receiving the next chunk overlaps
  // hashing and writing this one (an upload ran at a third of a local one without).
  static constexpr std::size_t k_body_window = 2 * 1024 * 1024;
  static constexpr std::size_t k_piece = 256 * 1024;
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::string> queue;
  std::vector<std::string> spare;  // pieces taken, kept for the next chunks
  std::size_t queued = 0;
  bool end = false;        // the whole body was offered
  bool aborted = false;    // the client went away, or the body passed the limit
  bool stopped = false;    // the handler stopped reading
  bool done = false;       // the handler returned; `out` holds its answer
  std::uint64_t received = 0;
  bool unread = false;     // the handler answered before reading all of the body
  Request req;
  Response out;
  std::thread worker;

  ~Call() {
    if (worker.joinable()) worker.join();
  }

  // read_body over the chunks offered; false when the body ended badly or `fn` stopped.
  bool take(const std::function<bool(const char*, std::size_t)>& fn) {
    std::unique_lock lock(mutex);
    while (true) {
      cv.wait(lock, [&] { return !queue.empty() || end || aborted; });
      if (aborted) return false;
      if (queue.empty()) return true;  // the end
      std::string piece = std::move(queue.front());
      queue.pop_front();
      queued -= piece.size();
      cv.notify_all();
      lock.unlock();
      bool more = fn(piece.data(), piece.size());
      lock.lock();
      if (spare.size() < k_body_window / k_piece) spare.push_back(std::move(piece));
      if (!more) {
        stopped = true;
        cv.notify_all();
        return false;
      }
    }
  }
};

class MhdServer final : public Server {
 public:
  ~MhdServer() override {
    if (m_daemon) MHD_stop_daemon(m_daemon);
  }
  void set_settings(const ServerSettings& s) override { m_settings = s; }
  void set_handler(Handler h) override { m_handler = std::move(h); }
  void set_expect_handler(ExpectHandler h) override { m_expect = std::move(h); }
  void set_error_handler(ErrorHandler h) override { m_error = std::move(h); }
  void set_log_handler(LogHandler h) override { m_log = std::move(h); }

  int bind(const std::string& host, int port) override {
    sockaddr_storage addr{};
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                     MHD_USE_ITC;
    if (host.find(':') != std::string::npos) {
      auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
      a6->sin6_family = AF_INET6;
      a6->sin6_port = htons(static_cast<std::uint16_t>(port));
      if (inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) != 1) return errno = EINVAL, -1;
      flags |= MHD_USE_IPv6;
    } else {
      auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
      a4->sin_family = AF_INET;
      a4->sin_port = htons(static_cast<std::uint16_t>(port));
      if (inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &a4->sin_addr) != 1)
        return errno = EINVAL, -1;
    }
    m_slots = std::make_unique<std::counting_semaphore<>>(
        static_cast<std::ptrdiff_t>(std::clamp<std::size_t>(m_settings.threads, 1, 4096)));
    errno = 0;
    m_daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &MhdServer::on_request, this,  //
                                MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&addr),  //
                                MHD_OPTION_CONNECTION_TIMEOUT,
                                static_cast<unsigned>(std::max(m_settings.read_timeout_seconds, 1)),  //
                                MHD_OPTION_UNESCAPE_CALLBACK, &MhdServer::keep_escaped, nullptr,          //
                                MHD_OPTION_NOTIFY_COMPLETED, &MhdServer::on_completed, this,             //
                                MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,                                 //
                                // The pool of each connection, which bounds the chunks of a body:
                                // libmicrohttpd zeroes it at every request, so 1 MiB cost about
                                // 35 us per GET (half the requests/s), while uploads, queued to the
                                // handler (k_body_window) and written by util/appender, run as fast
                                // with the default 32 KiB.
                                MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(32 * 1024),  //
                                MHD_OPTION_END);
    if (!m_daemon) {
      if (!errno) errno = EADDRINUSE;
      return -1;
    }
    const auto* info = MHD_get_daemon_info(m_daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : port;
  }

  bool listen() override {
    {
      std::unique_lock lock(m_mutex);
      m_cv.wait(lock, [&] { return m_stopping; });
      // Accept no more; the requests running end first (idle connections hold nothing).
      if (m_daemon) m_quiesced = MHD_quiesce_daemon(m_daemon);
      m_cv.wait(lock, [&] { return m_running == 0 || m_cancelled; });
      // Cancelled: the answers given at the cancel (503s) go out first; what is left then is
      // connections whose clients are still sending, closed by MHD_stop_daemon.
      if (m_running > 0) m_cv.wait_for(lock, std::chrono::seconds(1), [&] { return m_running == 0; });
    }
    if (m_daemon) MHD_stop_daemon(m_daemon);
    m_daemon = nullptr;
    // The listening socket is the caller's once quiesced, to close after the stop.
    if (m_quiesced != MHD_INVALID_SOCKET) ::close(m_quiesced);
    m_quiesced = MHD_INVALID_SOCKET;
    return true;
  }
  void stop() override {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    m_stopping_flag = true;
    m_cv.notify_all();
  }
  void cancel() override {
    std::lock_guard lock(m_mutex);
    m_cancelled = true;
    for (Call* call : m_calls) {
      std::lock_guard call_lock(call->mutex);
      if (call->end) continue;  // the whole body is in: its handler ends by the cancel token (503)
      call->aborted = true;
      call->cv.notify_all();
    }
    m_cv.notify_all();
  }

 private:
  // The path stays percent-encoded (a%2Fb is not a/b); query parts are decoded by us.
  static size_t keep_escaped(void*, MHD_Connection*, char* s) { return std::strlen(s); }

  static MHD_Result add_field(void* fields, MHD_ValueKind, const char* key, const char* value) {
    static_cast<Fields*>(fields)->emplace_back(key, value ? value : "");
    return MHD_YES;
  }
  static MHD_Result add_query(void* fields, MHD_ValueKind, const char* key, const char* value) {
    static_cast<Fields*>(fields)->emplace_back(query_decoded(key), value ? query_decoded(value) : std::string());
    return MHD_YES;
  }

  static MHD_Result on_request(void* self, MHD_Connection* c, const char* url, const char* method, const char*,
                               const char* data, size_t* size, void** cls) {
    return static_cast<MhdServer*>(self)->request(c, url, method, data, size, reinterpret_cast<Call**>(cls));
  }
  static void on_completed(void* self, MHD_Connection*, void** cls, MHD_RequestTerminationCode code) {
    static_cast<MhdServer*>(self)->completed(reinterpret_cast<Call*>(*cls), code);
    *cls = nullptr;
  }

  static bool has_body(MHD_Connection* c) {
    const char* te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (te) return true;
    const char* cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return cl && std::strtoull(cl, nullptr, 10) > 0;
  }

  void view(MHD_Connection* c, Call& call, const char* url, const char* method) {
    Request& r = call.req;
    r.method = method;
    r.path = url;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, &MhdServer::add_query, &r.query);
    MHD_get_connection_values(c, MHD_HEADER_KIND, &MhdServer::add_field, &r.headers);
    if (const auto* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS)) {
      char text[INET6_ADDRSTRLEN] = "";
      const sockaddr* sa = info->client_addr;
      if (sa->sa_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(sa);
        inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
        r.remote_port = ntohs(a->sin_port);
      } else if (sa->sa_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(sa);
        inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
        r.remote_port = ntohs(a->sin6_port);
      }
      r.remote_addr = text;
    }
    call.method = r.method;
    call.path = r.path;
    call.remote_addr = r.remote_addr;
  }

  // At most `threads` handlers run at once (ServerSettings::threads); the others wait here.
  void run_handler(Request& req, Response& out) {
    m_slots->acquire();
    struct Release {
      std::counting_semaphore<>& slots;
      ~Release() { slots.release(); }
    } release{*m_slots};
    try {
      m_handler(req, out);
    } catch (...) {
      out = Response{};
      out.status = 500;
      out.content_type = "application/json";
      out.body = R"({"detail":"Internal Server Error"})";
    }
  }

  // Queues `from` on the connection; `unread`: a body was left unread, so the connection closes.
  MHD_Result answer(MHD_Connection* c, Call& call, Response& from, bool unread) {
    MHD_Response* res = nullptr;
    if (from.provider && from.content_length && *from.content_length > 0) {
      auto stream = new Stream();
      stream->provider = std::move(from.provider);
      stream->length = *from.content_length;
      res = MHD_create_response_from_callback(
          *from.content_length, 64 * 1024,
          [](void* s, std::uint64_t pos, char* buf, size_t max) { return static_cast<Stream*>(s)->read(pos, buf, max); },
          stream, [](void* s) { delete static_cast<Stream*>(s); });
      call.bytes = *from.content_length;
    } else {
      res = MHD_create_response_from_buffer(from.body.size(), from.body.data(), MHD_RESPMEM_MUST_COPY);
      call.bytes = from.body.size();
    }
    if (!res) return MHD_NO;
    for (const auto& [k, v] : from.headers) MHD_add_response_header(res, k.c_str(), v.c_str());
    if (!from.content_type.empty()) MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, from.content_type.c_str());
    if (from.close_connection || unread) MHD_add_response_header(res, MHD_HTTP_HEADER_CONNECTION, "close");
    if (call.method == "HEAD") call.bytes = 0;
    call.status = from.status;
    call.answered = true;
    MHD_Result ret = MHD_queue_response(c, static_cast<unsigned>(from.status), res);
    MHD_destroy_response(res);
    return ret;
  }

  MHD_Result refuse(MHD_Connection* c, Call& call, int status) {
    Response out;
    out.status = status;
    if (m_error) m_error(out);
    return answer(c, call, out, true);
  }

  MHD_Result request(MHD_Connection* c, const char* url, const char* method, const char* data, size_t* size,
                     Call** slot) {
    if (!*slot) {
      // The headers are in: a new request.
      auto* call = new Call();
      *slot = call;
      {
        std::lock_guard lock(m_mutex);
        ++m_running;
        m_calls.insert(call);
        if (m_cancelled) call->aborted = true;
      }
      view(c, *call, url, method);
      // No body: answered on the connection's thread at the next call (an answer queued at
      // this first call makes libmicrohttpd close the connection after it).
      if (!has_body(c)) return call->bodyless = true, MHD_YES;
      const char* cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
      if (cl && std::strtoull(cl, nullptr, 10) > m_settings.payload_max_length) return refuse(c, *call, 413);
      const char* expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
      if (expect && m_expect && strcasecmp(expect, "100-continue") == 0) {
        Response out;
        int status = m_expect(call->req, out);
        if (status != 100) return answer(c, *call, out, true);
      }
      start_worker(c, *call);
      return MHD_YES;
    }
    Call& call = **slot;
    if (call.bodyless) {
      *size = 0;
      if (call.answered) return MHD_YES;
      call.req.read_body = [](const DataFn&) { return true; };
      Response out;
      run_handler(call.req, out);
      return answer(c, call, out, false);
    }
    std::unique_lock lock(call.mutex);
    if (*size > 0) {
      // libmicrohttpd queues an answer only once the body is in (or before any of it came), so
      // an answer given while a body is still coming waits for its end, reading the rest; past
      // the payload limit the connection drops instead.
      call.received += *size;
      if (call.received > m_settings.payload_max_length) {
        call.aborted = true;
        call.cv.notify_all();
        return MHD_NO;
      }
      if (!call.done && !call.stopped) {
        // Small chunks gather into pieces of up to k_piece, so that the handler's thread wakes,
        // parses and writes per 256 KiB rather than per read of the socket.
        if (call.queue.empty() || call.queue.back().size() + *size > Call::k_piece) {
          if (call.spare.empty()) {
            call.queue.emplace_back().reserve(std::max(Call::k_piece, *size));
          } else {  // a piece already taken, whose pages are mapped in: no fault, no mmap
            call.queue.push_back(std::move(call.spare.back()));
            call.spare.pop_back();
            call.queue.back().clear();
          }
        }
        call.queue.back().append(data, *size);
        call.queued += *size;
        call.cv.notify_all();
        call.cv.wait(lock, [&] { return call.queued <= Call::k_body_window || call.done || call.stopped; });
      }
      if (call.done || call.stopped) {
        call.unread = true;
        // A request cancelled at a stop does not wait for the rest of a slow body: it drops.
        if (m_stopping_flag.load()) return MHD_NO;
      }
      *size = 0;
      return MHD_YES;
    }
    // The end of the body.
    call.end = true;
    call.cv.notify_all();
    call.cv.wait(lock, [&] { return call.done; });
    lock.unlock();
    return answer(c, call, call.out, call.unread);
  }

  void start_worker(MHD_Connection* c, Call& call) {
    call.req.read_body = [&call](const DataFn& fn) { return call.take(fn); };
    const char* type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (type && std::strncmp(type, "multipart/form-data", 19) == 0) {
      call.req.read_multipart = [&call, c](const PartFn& part, const DataFn& data) {
        struct State {
          const PartFn& part;
          const DataFn& data;
          bool ok = true;
        } state{part, data};
        MHD_PostProcessor* pp = MHD_create_post_processor(
            c, 256 * 1024,
            [](void* p, MHD_ValueKind, const char* key, const char* filename, const char* content_type, const char*,
               const char* d, std::uint64_t off, size_t n) -> MHD_Result {
              auto* st = static_cast<State*>(p);
              if (off == 0 && !st->part(PartHeader{key ? key : "", filename ? filename : "",
                                                   content_type ? content_type : ""}))
                return st->ok = false, MHD_NO;
              if (n > 0 && !st->data(d, n)) return st->ok = false, MHD_NO;
              return MHD_YES;
            },
            &state);
        if (!pp) return false;
        bool body_ok = call.take([&](const char* d, std::size_t n) { return MHD_post_process(pp, d, n) == MHD_YES; });
        bool end_ok = MHD_destroy_post_processor(pp) == MHD_YES;
        return body_ok && end_ok && state.ok;
      };
    }
    call.worker = std::thread([this, &call] {
      Response out;
      run_handler(call.req, out);
      std::lock_guard lock(call.mutex);
      call.out = std::move(out);
      call.done = true;
      call.cv.notify_all();
    });
  }

  void completed(Call* call, MHD_RequestTerminationCode) {
    if (!call) return;
    if (call->worker.joinable()) {
      {
        std::lock_guard lock(call->mutex);
        call->aborted = true;  // a handler still reading learns that the client went away
        call->cv.notify_all();
      }
      call->worker.join();
    }
    if (m_log && !call->method.empty()) {
      LogEntry e;
      e.method = call->method;
      e.path = call->path;
      e.remote_addr = call->remote_addr;
      // A request that ended without an answer (the client hung up, a timeout, shutdown)
      // is logged as nginx logs it: 499, no body.
      e.status = call->answered ? call->status : 499;
      e.bytes = call->answered ? call->bytes : 0;
      e.ms = std::chrono::duration<double, std::milli>(Clock::now() - call->started).count();
      m_log(e);
    }
    {
      std::lock_guard lock(m_mutex);
      m_calls.erase(call);
    }
    delete call;
    std::lock_guard lock(m_mutex);
    if (--m_running == 0 && m_stopping) m_cv.notify_all();  // no wake-up a request otherwise
  }

  ServerSettings m_settings;
  Handler m_handler;
  ExpectHandler m_expect;
  ErrorHandler m_error;
  LogHandler m_log;
  MHD_Daemon* m_daemon = nullptr;
  std::unique_ptr<std::counting_semaphore<>> m_slots;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stopping = false;
  std::atomic<bool> m_stopping_flag{false};
  int m_running = 0;
  bool m_cancelled = false;
  MHD_socket m_quiesced = MHD_INVALID_SOCKET;
  std::unordered_set<Call*> m_calls;  // the requests begun and not completed
};

Server* make() { return new MhdServer(); }

const detail::ModuleApi k_api{k_module_abi, &make};

}  // namespace

}  // namespace wfctl::http

extern "C" __attribute__((visibility("default"))) const wfctl::http::detail::ModuleApi* wfctl_httpd_module() {
  return &wfctl::http::k_api;
}
