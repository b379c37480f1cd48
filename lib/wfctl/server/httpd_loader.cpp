// The core's side of the HTTP server module: make_server() loads wfctl-httpd.so on first use
// (see server/http_server.hpp for why libmicrohttpd is not linked into the binary).
#include <mutex>
#include <wfctl/error.hpp>
#include <wfctl/server/http_server.hpp>
#include <wfctl/util/module.hpp>

namespace wfctl::http {

namespace {

const detail::ModuleApi& load() {
  static const detail::ModuleApi* api = nullptr;
  static std::string failure;
  static std::once_flag once;
  std::call_once(once, [] {
    auto entry = reinterpret_cast<decltype(&wfctl_httpd_module)>(module_symbol(
        "wfctl-httpd.so", WFCTL_HTTPD_MODULE_LIBDIR, WFCTL_HTTPD_MODULE_BUILD, "wfctl_httpd_module", failure));
    if (!entry) return;
    if (entry()->abi != k_module_abi) {
      failure = "wfctl-httpd.so is not a compatible wfctl HTTP server module";
      return;
    }
    api = entry();
  });
  if (!api)
    throw Error(ErrorKind::not_supported, "the HTTP server is not available: " + failure,
                "reinstall wfctl with its lib/wfctl/wfctl-httpd.so");
  return *api;
}

}  // namespace

std::unique_ptr<Server> make_server() { return std::unique_ptr<Server>(load().make_server()); }

}  // namespace wfctl::http
