// HttpClient over libcurl's easy interface; the only file that includes curl.h.
#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <fmt/format.h>
#include <mutex>
#include <vector>
#include <wfctl/store/remote/curl/module_api.hpp>

namespace wfctl::net {

namespace {

constexpr std::size_t k_error_body_limit = 1 << 20;
constexpr std::size_t k_pool_limit = 8;

struct EasyDeleter {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
struct MimeDeleter {
  void operator()(curl_mime* m) const noexcept { curl_mime_free(m); }
};

// What one transfer's callbacks share. A callback never lets an exception through libcurl's C
// frames: it keeps it, aborts the transfer, and perform() rethrows it.
struct Transfer {
  const Options* options = nullptr;
  const WriteFn* sink = nullptr;
  const HeadersFn* on_headers = nullptr;
  ReadFn read;
  std::uint64_t read_left = 0;
  Response response;
  bool headers_done = false;
  bool streaming = false;
  std::exception_ptr failure;
  CURL* easy = nullptr;

  void finish_headers() {
    if (headers_done) return;
    headers_done = true;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response.status);
    streaming = sink && *sink && response.status >= 200 && response.status < 300;
    if (on_headers && *on_headers) (*on_headers)(response.status, response.headers);
  }
};

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a 100 Continue): start over
    t->response.headers.clear();
    return size * n;
  }
  if (line == "\r\n" || line == "\n") return size * n;
  auto colon = line.find(':');
  if (colon != std::string::npos) t->response.headers.add(line.substr(0, colon), trim(line.substr(colon + 1)));
  return size * n;
}

std::size_t on_write(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t len = size * n;
  try {
    t->finish_headers();
    t->response.body_bytes += len;
    if (t->streaming) {
      (*t->sink)(data, len);
    } else if (t->response.body.size() < k_error_body_limit) {
      t->response.body.append(data, std::min(len, k_error_body_limit - t->response.body.size()));
    }
    return len;
  } catch (...) {
    t->failure = std::current_exception();
    return CURL_WRITEFUNC_ERROR;
  }
}

std::size_t on_read(char* buf, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  try {
    std::size_t want = std::min<std::uint64_t>(size * n, t->read_left);
    if (want == 0) return 0;
    std::size_t got = t->read(buf, want);
    if (got == 0) throw Error(ErrorKind::internal, "the upload ended before its announced size");
    t->read_left -= got;
    return got;
  } catch (...) {
    t->failure = std::current_exception();
    return CURL_READFUNC_ABORT;
  }
}

int on_progress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  auto* t = static_cast<Transfer*>(user);
  try {
    if (t->options->progress)
      t->options->progress(TransferProgress{static_cast<std::uint64_t>(ulnow), static_cast<std::uint64_t>(ultotal),
                                            static_cast<std::uint64_t>(dlnow), static_cast<std::uint64_t>(dltotal)});
    return 0;
  } catch (...) {
    t->failure = std::current_exception();
    return 1;  // aborts with CURLE_ABORTED_BY_CALLBACK
  }
}

Failure failure_of(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT: return Failure::connect;
    case CURLE_OPERATION_TIMEDOUT: return Failure::timeout;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR: return Failure::tls;
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR: return Failure::dropped;
    default: return Failure::other;
  }
}

class CurlClient final : public HttpClient {
 public:
  ~CurlClient() override = default;

  Response perform(const Request& request, const Options& options, const WriteFn& sink,
                   const HeadersFn& on_headers) override {
    Easy easy = lease();
    CURL* c = easy.get();
    Transfer t;
    t.options = &options;
    t.sink = &sink;
    t.on_headers = &on_headers;
    t.easy = c;
    char error[CURL_ERROR_SIZE] = {0};

    curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // threads; timeouts without SIGALRM
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    if (options.timeout.count() > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
    if (options.idle_timeout.count() > 0) {
      curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(options.idle_timeout.count() / 1000)));
    }
    if (options.ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, options.ca_file->c_str());
    if (options.insecure) {
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);

    std::unique_ptr<curl_slist, SlistDeleter> headers;
    auto add_header = [&](const std::string& line) { headers.reset(curl_slist_append(headers.release(), line.c_str())); };
    for (const auto& [name, value] : request.headers.all()) add_header(name + ": " + value);
    add_header("Expect:");  // no 100-continue round trip before a body

    std::unique_ptr<curl_mime, MimeDeleter> mime;
    if (const auto* text = std::get_if<TextBody>(&request.body)) {
      add_header("Content-Type: " + text->content_type);
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(text->text.size()));
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, text->text.data());
    } else if (const auto* stream = std::get_if<StreamBody>(&request.body)) {
      add_header("Content-Type: " + stream->content_type);
      t.read = stream->read;
      t.read_left = stream->size;
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(stream->size));
      curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(c, CURLOPT_READDATA, &t);
    } else if (const auto* part = std::get_if<FilePart>(&request.body)) {
      // Large files: 64 KiB (curl's default) is a read, a hash update and a send per 64 KiB.
      curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024L);
      t.read = part->read;
      t.read_left = part->size;
      mime.reset(curl_mime_init(c));
      curl_mimepart* p = curl_mime_addpart(mime.get());
      curl_mime_name(p, part->field.c_str());
      curl_mime_filename(p, part->filename.c_str());
      curl_mime_type(p, part->content_type.c_str());
      curl_mime_data_cb(p, static_cast<curl_off_t>(part->size), on_read, nullptr, nullptr, &t);
      curl_easy_setopt(c, CURLOPT_MIMEPOST, mime.get());
    }
    if (request.method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (request.method == "GET") curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    else if (request.method != "POST" || std::holds_alternative<std::monostate>(request.body)) {
      if (std::holds_alternative<std::monostate>(request.body) && request.method == "POST")
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      if (request.method == "POST") curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());

    CURLcode code = curl_easy_perform(c);
    if (t.failure) {
      drop(std::move(easy));  // a transfer stopped halfway leaves its connection unusable
      std::rethrow_exception(t.failure);
    }
    if (code != CURLE_OK) {
      drop(std::move(easy));
      std::string why = error[0] ? error : curl_easy_strerror(code);
      Failure f = failure_of(code);
      std::string hint;
      if (f == Failure::tls) {
        why = "TLS verification failed: " + why;
        hint = "give the server's CA with --ca-file, or --insecure to skip verification (not recommended)";
      }
      throw TransportError(f, fmt::format("{} {}: {}", request.method, request.url, why), t.response.body_bytes, hint);
    }
    t.finish_headers();  // a body-less response
    give_back(std::move(easy));
    return std::move(t.response);
  }

 private:
  Easy lease() {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      if (!m_pool.empty()) {
        Easy e = std::move(m_pool.back());
        m_pool.pop_back();
        curl_easy_reset(e.get());  // keeps the handle's live connections for keep-alive
        return e;
      }
    }
    Easy e(curl_easy_init());
    if (!e) throw Error(ErrorKind::internal, "libcurl could not make a handle");
    return e;
  }
  void give_back(Easy e) {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_pool.size() < k_pool_limit) m_pool.push_back(std::move(e));
  }
  void drop(Easy) {}

  std::mutex m_mutex;
  std::vector<Easy> m_pool;
};

HttpClient* make_client() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return new CurlClient();
}

const char* version() { return curl_version(); }

const detail::ModuleApi k_api = {detail::k_module_abi, &make_client, &version};

}  // namespace

}  // namespace wfctl::net

extern "C" __attribute__((visibility("default"))) const wfctl::net::detail::ModuleApi* wfctl_curl_module() {
  return &wfctl::net::k_api;
}
