#pragma once
// The table the curl module (wfctl-curl.so) hands to the core. libcurl brings about 25 shared
// libraries (GnuTLS or OpenSSL's libssl, nghttp2, libssh2, LDAP, Kerberos, ...) whose loading
// every start of `wfctl get` would pay: only a command that talks to a remote store loads them.
#include <wfctl/net/http_client.hpp>

namespace wfctl::net::detail {

inline constexpr int k_module_abi = 1;

struct ModuleApi {
  int abi;
  /// A client over libcurl; the object lives in the module. Options::cancel is never looked
  /// at there: the core wraps it into Options::progress.
  HttpClient* (*make_client)();
  /// libcurl's version line, for messages ("libcurl/7.88.1 OpenSSL/3.0.11 ...").
  const char* (*version)();
};

}  // namespace wfctl::net::detail

/// The module's one exported symbol.
extern "C" const wfctl::net::detail::ModuleApi* wfctl_curl_module();
