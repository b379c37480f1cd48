// The core's side of the HTTP server module: make_server() loads wfctl-httpd.so on first use
// (see server/http_server.hpp for why libmicrohttpd is not linked into the binary).
#include <wfctl/error.hpp>
#include <wfctl/server/http_server.hpp>
#include <wfctl/util/module.hpp>

namespace wfctl::http {

namespace {

const detail::ModuleApi& load() {
  return module_api<detail::ModuleApi>({"wfctl-httpd.so", WFCTL_HTTPD_MODULE_LIBDIR, WFCTL_HTTPD_MODULE_BUILD,
                                        "wfctl_httpd_module", k_module_abi, "HTTP server", "the HTTP server"});
}

}  // namespace

std::unique_ptr<Server> make_server() { return std::unique_ptr<Server>(load().make_server()); }

}  // namespace wfctl::http
