// The core's side of the curl module: make_http_client() loads wfctl-curl.so on first use (see
// store/remote/curl/module_api.hpp for why libcurl is not linked into the binary).
#include <wfctl/net/http_client.hpp>

#include <wfctl/store/remote/curl/module_api.hpp>
#include <wfctl/util/module.hpp>

namespace wfctl::net {

namespace {

const detail::ModuleApi& load() {
  return module_api<detail::ModuleApi>({"wfctl-curl.so", WFCTL_CURL_MODULE_LIBDIR, WFCTL_CURL_MODULE_BUILD,
                                        "wfctl_curl_module", detail::k_module_abi, "HTTP", "the remote backend"});
}

// The module never sees a Cancel (its copy of util/interrupt could not see Ctrl-C): the token
// is checked from the progress callback, on the core's side.
class CancellingClient final : public HttpClient {
 public:
  explicit CancellingClient(HttpClient* inner) : m_inner(inner) {}
  Response perform(const Request& request, const Options& options, const WriteFn& sink,
                   const HeadersFn& on_headers) override {
    options.cancel.check();
    Options o = options;
    o.cancel = Cancel();
    o.progress = [cancel = options.cancel, progress = options.progress](const TransferProgress& p) {
      cancel.check();
      if (progress) progress(p);
    };
    return m_inner->perform(request, o, sink, on_headers);
  }

 private:
  std::unique_ptr<HttpClient> m_inner;
};

}  // namespace

std::unique_ptr<HttpClient> make_http_client() { return std::make_unique<CancellingClient>(load().make_client()); }

}  // namespace wfctl::net
