// wfctl-httpd.so: the HTTP server interface (server/http_server.hpp) over GNU libmicrohttpd.
// Only the translation between libmicrohttpd and the interface lives here; every decision
// (routes, auth, errors, logging) is the core's.
//
// libmicrohttpd serves the connections from a few I/O threads (one per core), each an epoll
// loop, as nginx does with its workers. A thread per connection cost as much as the whole of
// nginx's answer: a trivial 404 ran at about 65 000 requests/s against 120 000 on the pool.
// libmicrohttpd pushes a request body to its callback chunk by chunk, while the interface's
// handler pulls the body (read_body) and pushes a streamed answer (provider), and an I/O
// thread must never wait. So:
// - a request without a body that the core's quick filter accepts (a GET by id) is answered
//   on its I/O thread;
// - any other request waits for one of the ServerSettings::threads handler threads, and its
//   connection is suspended ("parked") until the handler answers; the chunks of a body are
//   queued to the handler up to a window, past which the connection is parked until the
//   handler took some;
// - a streamed answer is written by its provider on a thread of its own into a small buffer
//   the I/O thread sends from, the connection parked while the buffer is empty.
// A parked connection is resumed by
// whoever clears its `suspended` flag under the lock that guards it, exactly once; before
// libmicrohttpd stops (it aborts on a connection still suspended), every parked connection is
// resumed and none parks again.
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
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>
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

class MhdServer;

// The streamed body of an answer: the provider (on its own thread) writes into `buffer`, the
// I/O thread takes from it; either side going away ends the other. Shared by the response
// (until libmicrohttpd frees it) and the provider's thread.
struct Stream {
  MhdServer* server = nullptr;
  MHD_Connection* conn = nullptr;
  std::function<bool(const WriteFn&)> provider;
  std::uint64_t length = 0;
  std::mutex mutex;
  std::condition_variable cv;
  std::string buffer;
  bool started = false, finished = false, failed = false, gone = false;
  bool suspended = false;  // the connection is parked until the buffer fills

  static constexpr std::size_t k_window = 256 * 1024;
};

// One request: its log fields and, for a request with a body or one run on a handler thread,
// the hand-over between the I/O thread and the handler's. Freed by the last of the two
// to let go of it (refs).
struct Call {
  std::atomic<int> refs{1};
  MHD_Connection* conn = nullptr;  // null once the connection completed the request
  Clock::time_point started = Clock::now();
  std::string method, path, remote_addr;
  int status = 0;
  std::uint64_t bytes = 0;
  bool answered = false;
  bool bodyless = false;
  bool offloaded = false;  // the handler runs on a handler thread, not the I/O thread

  // The body: the I/O thread queues copies of the chunks; the handler's thread takes them.
  // Up to k_body_window bytes wait, so that receiving the next chunk overlaps hashing and
  // writing this one (an upload ran at a third of a local one without).
  static constexpr std::size_t k_body_window = 2 * 1024 * 1024;
  static constexpr std::size_t k_piece = 256 * 1024;
  std::mutex mutex;
  std::condition_variable cv;
  std::list<std::string> queue;   // a list: nothing allocated for a request without a body
  std::vector<std::string> spare;  // pieces taken, kept for the next chunks
  std::size_t queued = 0;
  bool end = false;        // the whole body was offered
  bool aborted = false;    // the client went away, or the body passed the limit
  bool stopped = false;    // the handler stopped reading
  bool done = false;       // the handler returned; `out` holds its answer
  bool suspended = false;  // the connection is parked (the window is full, or the handler runs)
  std::uint64_t received = 0;
  bool unread = false;     // the handler answered before reading all of the body
  // A multipart body: libmicrohttpd's parser, and what read_multipart feeds it to.
  MHD_PostProcessor* post = nullptr;
  bool in_multipart = false;  // the handler is using `post`
  const PartFn* part_fn = nullptr;
  const DataFn* data_fn = nullptr;
  bool part_ok = true;
  Request req;
  Response out;
};

class MhdServer final : public Server {
 public:
  ~MhdServer() override {
    if (m_daemon) {  // bound, and listen() never ran or did not finish
      unpark_all();
      MHD_stop_daemon(m_daemon);
    }
    stop_workers();
    wait_for_threads();
  }
  void set_settings(const ServerSettings& s) override { m_settings = s; }
  void set_handler(Handler h) override { m_handler = std::move(h); }
  void set_quick_filter(QuickFilter f) override { m_quick = std::move(f); }
  void set_expect_handler(ExpectHandler h) override { m_expect = std::move(h); }
  void set_error_handler(ErrorHandler h) override { m_error = std::move(h); }
  void set_log_handler(LogHandler h) override { m_log = std::move(h); }

  int bind(const std::string& host, int port) override {
    sockaddr_storage addr{};
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
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
    if (!start_workers(std::clamp<std::size_t>(m_settings.threads, 1, 4096))) return -1;
    std::size_t io = m_settings.io_threads ? m_settings.io_threads : std::thread::hardware_concurrency();
    io = std::clamp<std::size_t>(io, 1, 64);
    errno = 0;
    m_daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &MhdServer::on_request, this,  //
                                MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&addr),  //
                                MHD_OPTION_THREAD_POOL_SIZE, static_cast<unsigned>(io),   //
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
      m_cv.wait(lock, [&] { return m_running.load() == 0 || m_cancelled; });
      // Cancelled: the answers given at the cancel (503s) go out first; what is left then is
      // connections whose clients are still sending, closed by MHD_stop_daemon.
      if (m_running.load() > 0) m_cv.wait_for(lock, std::chrono::seconds(1), [&] { return m_running.load() == 0; });
    }
    unpark_all();
    if (m_daemon) MHD_stop_daemon(m_daemon);
    m_daemon = nullptr;
    // Handlers and providers still running were told (cancel, a closed stream): they end soon;
    // a request still waiting for a handler thread gets one (and its 503 at a cancel).
    stop_workers();
    wait_for_threads();
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
  // Parking. park() and unpark_begin() run under the lock that guards `suspended`.
  // Parks the connection; false once the server is going away (the caller closes it then).
  bool park(MHD_Connection* c, bool& suspended) {
    if (suspended) return true;  // suspending twice corrupts libmicrohttpd's lists
    if (m_final.load()) return false;
    suspended = true;
    MHD_suspend_connection(c);
    return true;
  }
  // Whether the caller is to resume the connection (with unpark_end, out of the lock).
  bool unpark_begin(bool& suspended) {
    if (!suspended) return false;
    suspended = false;
    m_resuming.fetch_add(1);
    return true;
  }
  void unpark_end(MHD_Connection* c) {
    MHD_resume_connection(c);
    if (m_resuming.fetch_sub(1) == 1) {
      std::lock_guard lock(m_mutex);
      m_cv.notify_all();
    }
  }
  // Before libmicrohttpd stops: resumes every parked connection; none parks again.
  void unpark_all() {
    m_final = true;
    std::vector<MHD_Connection*> wake;
    {
      std::lock_guard lock(m_mutex);
      for (Call* call : m_calls) {
        std::lock_guard call_lock(call->mutex);
        if (unpark_begin(call->suspended)) wake.push_back(call->conn);
      }
      for (Stream* s : m_streams) {
        std::lock_guard stream_lock(s->mutex);
        if (unpark_begin(s->suspended)) wake.push_back(s->conn);
      }
    }
    for (MHD_Connection* c : wake) unpark_end(c);
    std::unique_lock lock(m_mutex);
    m_cv.wait(lock, [&] { return m_resuming.load() == 0; });
  }

  // The threads of providers: counted, so that the server outlives them. Takes no lock (it
  // runs under a stream's).
  template <class Fn>
  bool spawn(Fn&& fn) {
    m_threads.fetch_add(1);
    try {
      std::thread([this, fn = std::forward<Fn>(fn)]() mutable {
        fn();
        // Under the lock that wait_for_threads() reads it under: the server may go as soon
        // as it is unlocked.
        std::lock_guard lock(m_mutex);
        if (m_threads.fetch_sub(1) == 1) m_cv.notify_all();
      }).detach();
      return true;
    } catch (...) {  // no thread to be had
      m_threads.fetch_sub(1);
      return false;
    }
  }
  void wait_for_threads() {
    std::unique_lock lock(m_mutex);
    while (m_threads.load() > 0) m_cv.wait_for(lock, std::chrono::milliseconds(100));
  }

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

  void run_handler(Request& req, Response& out) {
    try {
      m_handler(req, out);
    } catch (...) {
      out = Response{};
      out.status = 500;
      out.content_type = "application/json";
      out.body = R"({"detail":"Internal Server Error"})";
    }
  }

  // Lets go of a call; the last one frees it.
  void release(Call* call) {
    if (call->refs.fetch_sub(1) != 1) return;
    if (call->offloaded) {
      std::lock_guard lock(m_mutex);
      m_calls.erase(call);
    }
    delete call;
    if (m_running.fetch_sub(1) == 1 && m_stopping_flag.load()) {  // no wake-up a request otherwise
      std::lock_guard lock(m_mutex);
      m_cv.notify_all();
    }
  }

  // The handler threads: a request that is not answered on its I/O thread waits in m_tasks.
  bool start_workers(std::size_t n) {
    try {
      while (m_workers.size() < n) m_workers.emplace_back([this] { work(); });
      return true;
    } catch (...) {  // no thread to be had
      stop_workers();
      errno = EAGAIN;
      return false;
    }
  }
  void stop_workers() {
    {
      std::lock_guard lock(m_task_mutex);
      m_workers_stop = true;
    }
    m_task_cv.notify_all();
    for (auto& t : m_workers) t.join();
    m_workers.clear();
  }
  void work() {
    for (;;) {
      Call* call = nullptr;
      {
        std::unique_lock lock(m_task_mutex);
        m_task_cv.wait(lock, [&] { return m_workers_stop || !m_tasks.empty(); });
        if (m_tasks.empty()) return;  // stopping, and every request waiting was handled
        call = m_tasks.front();
        m_tasks.pop_front();
      }
      handle(*call);
    }
  }
  // Runs the handler of an offloaded call; its connection is resumed, when parked, once the
  // answer is there.
  void handle(Call& call) {
    Response out;
    run_handler(call.req, out);
    MHD_Connection* c = nullptr;
    bool wake = false;
    {
      std::lock_guard lock(call.mutex);
      call.out = std::move(out);
      call.done = true;
      call.cv.notify_all();
      wake = unpark_begin(call.suspended);
      c = call.conn;
    }
    if (wake) unpark_end(c);
    release(&call);
  }
  // Hands `call` to the handler threads; from now on cancel() and unpark_all() see it. Takes
  // no lock but the server's and the queue's.
  void start_worker(Call& call) {
    call.offloaded = true;
    call.refs.fetch_add(1);
    {
      std::lock_guard lock(m_mutex);
      m_calls.insert(&call);
      if (m_cancelled) call.aborted = true;
    }
    {
      std::lock_guard lock(m_task_mutex);
      m_tasks.push_back(&call);
    }
    m_task_cv.notify_one();
  }

  // read_body over the chunks queued; false when the body ended badly or `fn` stopped.
  bool take(Call& call, const DataFn& fn) {
    std::unique_lock lock(call.mutex);
    while (true) {
      call.cv.wait(lock, [&] { return !call.queue.empty() || call.end || call.aborted; });
      if (call.aborted) return false;
      if (call.queue.empty()) return true;  // the end
      std::string piece = std::move(call.queue.front());
      call.queue.pop_front();
      call.queued -= piece.size();
      // Parked on a full window: resumed once half of it is free, not at every piece taken.
      // (Parked at the end of the body, it waits for the answer instead.)
      bool wake = !call.end && call.queued <= Call::k_body_window / 2 && unpark_begin(call.suspended);
      MHD_Connection* c = call.conn;
      lock.unlock();
      if (wake) unpark_end(c);
      bool more = fn(piece.data(), piece.size());
      lock.lock();
      if (call.spare.size() < Call::k_body_window / Call::k_piece) call.spare.push_back(std::move(piece));
      if (!more) {
        call.stopped = true;
        call.cv.notify_all();
        return false;
      }
    }
  }

  // The content reader of a streamed answer, on the I/O thread: never waits.
  ssize_t read_stream(const std::shared_ptr<Stream>& s, std::uint64_t pos, char* out, std::size_t max) {
    std::unique_lock lock(s->mutex);
    if (!s->started) {
      s->started = true;
      if (!spawn([this, s] { produce(*s); })) return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (s->buffer.empty()) {
      // Finished short of the announced length, or failed: the connection must drop.
      if (s->finished)
        return pos >= s->length && !s->failed ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
      return park(s->conn, s->suspended) ? 0 : MHD_CONTENT_READER_END_WITH_ERROR;
    }
    std::size_t n = std::min(max, s->buffer.size());
    std::memcpy(out, s->buffer.data(), n);
    s->buffer.erase(0, n);
    s->cv.notify_all();
    return static_cast<ssize_t>(n);
  }
  // The provider's thread: fills the buffer, resuming the connection when it was parked.
  void produce(Stream& s) {
    auto write = [&](const char* d, std::size_t n) {
      std::unique_lock lock(s.mutex);
      while (n > 0) {
        s.cv.wait(lock, [&] { return s.gone || s.buffer.size() < Stream::k_window; });
        if (s.gone) return false;
        std::size_t take = std::min(n, Stream::k_window - s.buffer.size());
        s.buffer.append(d, take);
        d += take;
        n -= take;
        if (unpark_begin(s.suspended)) {
          lock.unlock();
          unpark_end(s.conn);
          lock.lock();
        }
      }
      return true;
    };
    bool ok = false;
    try {
      ok = s.provider(write);
    } catch (...) {
      ok = false;
    }
    bool wake = false;
    {
      std::lock_guard lock(s.mutex);
      s.finished = true;
      s.failed = !ok;
      wake = unpark_begin(s.suspended);
    }
    if (wake) unpark_end(s.conn);
    s.provider = nullptr;  // what it holds (a file, a store's lease) goes now
  }
  void drop_stream(Stream* s) {
    {
      std::lock_guard lock(m_mutex);
      m_streams.erase(s);
    }
    std::lock_guard lock(s->mutex);
    s->gone = true;
    s->cv.notify_all();
  }

  // Queues `from` on the connection; `unread`: a body was left unread, so the connection closes.
  MHD_Result answer(MHD_Connection* c, Call& call, Response& from, bool unread) {
    MHD_Response* res = nullptr;
    if (from.provider && from.content_length && *from.content_length > 0) {
      auto stream = std::make_shared<Stream>();
      stream->server = this;
      stream->conn = c;
      stream->provider = std::move(from.provider);
      stream->length = *from.content_length;
      auto* hold = new std::shared_ptr<Stream>(stream);
      res = MHD_create_response_from_callback(
          *from.content_length, 64 * 1024,
          [](void* h, std::uint64_t pos, char* buf, size_t max) {
            auto& s = *static_cast<std::shared_ptr<Stream>*>(h);
            return s->server->read_stream(s, pos, buf, max);
          },
          hold,
          [](void* h) {
            auto* held = static_cast<std::shared_ptr<Stream>*>(h);
            (*held)->server->drop_stream(held->get());
            delete held;
          });
      if (!res) {
        delete hold;
        return MHD_NO;
      }
      {
        std::lock_guard lock(m_mutex);
        m_streams.insert(stream.get());
      }
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
      call->conn = c;
      *slot = call;
      m_running.fetch_add(1);
      view(c, *call, url, method);
      // No body: answered at the next call (an answer queued at this first call makes
      // libmicrohttpd close the connection after it).
      if (!has_body(c)) return call->bodyless = true, MHD_YES;
      const char* cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
      if (cl && std::strtoull(cl, nullptr, 10) > m_settings.payload_max_length) return refuse(c, *call, 413);
      const char* expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
      if (expect && m_expect && strcasecmp(expect, "100-continue") == 0) {
        Response out;
        int status = m_expect(call->req, out);
        if (status != 100) return answer(c, *call, out, true);
      }
      bind_body(c, *call);
      start_worker(*call);
      return MHD_YES;
    }
    Call& call = **slot;
    if (call.bodyless) {
      *size = 0;
      if (call.answered) return MHD_YES;
      if (!call.offloaded) {
        call.req.read_body = [](const DataFn&) { return true; };
        if (m_quick && m_quick(call.req)) {
          Response out;
          run_handler(call.req, out);
          return answer(c, call, out, false);
        }
        start_worker(call);
      }
      // Parked under the lock the worker takes to finish, so resumed only after the park; at
      // a call after the resume, the handler returned.
      std::unique_lock lock(call.mutex);
      if (!call.done) return park(c, call.suspended) ? MHD_YES : MHD_NO;
      lock.unlock();
      return answer(c, call, call.out, false);
    }
    std::unique_lock lock(call.mutex);
    if (*size > 0) {
      // A full window: this chunk stays unconsumed and the connection parks; libmicrohttpd
      // leaves its loop over the chunks it holds (a consumed chunk would let it offer the next
      // one to a suspended connection) and offers this one again after the resume.
      if (call.queued >= Call::k_body_window && !call.done && !call.stopped && !call.aborted)
        return park(c, call.suspended) ? MHD_YES : MHD_NO;
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
      }
      *size = 0;
      if (call.done || call.stopped) {
        call.unread = true;
        // A request cancelled at a stop does not wait for the rest of a slow body: it drops.
        if (m_stopping_flag.load()) return MHD_NO;
      }
      return MHD_YES;
    }
    // The end of the body, or a call after a resume at the end: the answer once the handler
    // returned.
    call.end = true;
    call.cv.notify_all();
    if (!call.done) return park(c, call.suspended) ? MHD_YES : MHD_NO;
    lock.unlock();
    return answer(c, call, call.out, call.unread);
  }

  // read_body (and read_multipart for a multipart/form-data body) over the queued chunks.
  // libmicrohttpd's post processor reads the request's headers when created and keeps
  // pointers into the connection's memory: it is created here, on the I/O thread, and used by
  // the handler only while completed() waits for it (Call::in_multipart).
  void bind_body(MHD_Connection* c, Call& call) {
    call.req.read_body = [this, &call](const DataFn& fn) { return take(call, fn); };
    const char* type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!type || std::strncmp(type, "multipart/form-data", 19) != 0) return;
    call.post = MHD_create_post_processor(c, 256 * 1024, &MhdServer::on_part, &call);
    call.req.read_multipart = [this, &call](const PartFn& part, const DataFn& data) {
      {
        std::lock_guard lock(call.mutex);
        if (!call.post || !call.conn) return false;  // the connection is gone
        call.in_multipart = true;
        call.part_fn = &part;
        call.data_fn = &data;
        call.part_ok = true;
      }
      bool body_ok = take(call, [&](const char* d, std::size_t n) { return MHD_post_process(call.post, d, n) == MHD_YES; });
      bool end_ok = MHD_destroy_post_processor(call.post) == MHD_YES;
      std::lock_guard lock(call.mutex);
      call.post = nullptr;
      call.in_multipart = false;
      call.cv.notify_all();
      return body_ok && end_ok && call.part_ok;
    };
  }
  static MHD_Result on_part(void* p, MHD_ValueKind, const char* key, const char* filename, const char* content_type,
                            const char*, const char* d, std::uint64_t off, size_t n) {
    auto& call = *static_cast<Call*>(p);
    if (off == 0 && !(*call.part_fn)(PartHeader{key ? key : "", filename ? filename : "", content_type ? content_type : ""}))
      return call.part_ok = false, MHD_NO;
    if (n > 0 && !(*call.data_fn)(d, n)) return call.part_ok = false, MHD_NO;
    return MHD_YES;
  }

  void completed(Call* call, MHD_RequestTerminationCode) {
    if (!call) return;
    {
      std::unique_lock lock(call->mutex);
      if (call->offloaded && !call->done) {
        call->aborted = true;  // a handler still reading learns that the client went away
        call->cv.notify_all();
      }
      // The post processor points into the connection, which goes when this returns.
      call->cv.wait(lock, [&] { return !call->in_multipart; });
      if (call->post) MHD_destroy_post_processor(call->post);
      call->post = nullptr;
      call->conn = nullptr;
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
    release(call);
  }

  ServerSettings m_settings;
  Handler m_handler;
  QuickFilter m_quick;
  ExpectHandler m_expect;
  ErrorHandler m_error;
  LogHandler m_log;
  MHD_Daemon* m_daemon = nullptr;
  std::vector<std::thread> m_workers;  // the handler threads (ServerSettings::threads)
  std::mutex m_task_mutex;
  std::condition_variable m_task_cv;
  std::deque<Call*> m_tasks;  // offloaded calls waiting for a handler thread
  bool m_workers_stop = false;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stopping = false;
  std::atomic<bool> m_stopping_flag{false};
  std::atomic<bool> m_final{false};     // libmicrohttpd is about to stop: nothing parks
  std::atomic<int> m_resuming{0};       // resumes begun and not yet handed to libmicrohttpd
  std::atomic<int> m_running{0};        // calls not freed
  std::atomic<int> m_threads{0};        // provider threads running
  bool m_cancelled = false;
  MHD_socket m_quiesced = MHD_INVALID_SOCKET;
  std::unordered_set<Call*> m_calls;      // the offloaded requests not freed
  std::unordered_set<Stream*> m_streams;  // the streamed answers libmicrohttpd holds
};

Server* make() { return new MhdServer(); }

const detail::ModuleApi k_api{k_module_abi, &make};

}  // namespace

}  // namespace wfctl::http

extern "C" __attribute__((visibility("default"))) const wfctl::http::detail::ModuleApi* wfctl_httpd_module() {
  return &wfctl::http::k_api;
}
