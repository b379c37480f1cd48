#pragma once
// The pure parts of the remote backend: the store URL, the server's description, retry
// timing, and turning an HTTP answer into the library's Error. No I/O here (unit-tested).
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include <wfctl/error.hpp>
#include <wfctl/store/store.hpp>

namespace wfctl::remote {

/// The reference's prefix, used when a store URL names none.
inline constexpr std::string_view k_default_prefix = "/api/v1/workflow";

/// A parsed store URL: http(s)://HOST[:PORT][/prefix].
struct RemoteUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // as given ([::1] keeps its brackets)
  int port = 0;        // 80 / 443 when not given
  std::string prefix;  // "/api/v1/workflow": leading slash, no trailing slash
  /// scheme://host:port + prefix: what every route is appended to.
  std::string base() const;
};

/// Parses a store URL. Throws Error(usage) for credentials in it (user:pass@: use a token
/// file or WFCTL_TOKEN), a query or fragment, a missing host, or a bad port.
RemoteUrl parse_remote_url(std::string_view url);

/// What GET P/server said about the server.
struct ServerInfo {
  bool is_wfctl = false;     // a wfctl serve (else: a ScanHub reference server)
  std::string version;       // wfctl's version, when is_wfctl
  Capabilities capabilities;
};

/// The capabilities of a ScanHub reference server: what its contract really offers.
Capabilities reference_capabilities();

/// The server's description from the answer to GET P/server: a 200 JSON object with
/// "name": "wfctl" gives its capabilities (absent fields are false); anything else (the
/// reference answers 422, other servers 404) is a reference server.
ServerInfo parse_server_info(long status, std::string_view body);

/// The delay a Retry-After header asks for (delta-seconds or an HTTP date, relative to
/// `now`), capped at `cap`; nullopt when the value is neither.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now,
                                                           std::chrono::milliseconds cap);

/// Exponential backoff with full jitter: a uniform delay in [0, min(cap, base * 2^attempt)]
/// (attempt counted from 0).
std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                        std::mt19937_64& rng);

/// Whether a request with this method may be sent again after a failure (GET, HEAD, PUT,
/// DELETE); a POST never is.
bool is_idempotent(std::string_view method) noexcept;

/// Whether a status is worth retrying (429, 502, 503, 504).
bool is_retryable_status(long status) noexcept;

/// The error kind of an HTTP error status: 404 not_found, 401/403 permission, 409 conflict,
/// 413 and 422 (and other 4xx) invalid_input, 501 not_supported, other 5xx unavailable.
ErrorKind kind_for_status(long status) noexcept;

/// The Error for an error answer: "<what>: <server> answered <status>: <detail>", where a 422
/// `detail` list becomes one ErrorItem per entry (loc / msg / type), all named in the message
/// ("body.name: field required; body.version: field required"). A 3xx is an unavailable
/// error naming its Location (redirects are never followed).
Error error_for_response(long status, std::string_view body, const std::optional<std::string>& location,
                         std::string_view server, std::string_view what);

/// Decodes standard base64 (with padding); nullopt when `text` is not base64.
std::optional<std::string> base64_decode(std::string_view text);

/// The sha256 a response names for its body, as lower-case hex: Repr-Digest
/// "sha-256=:BASE64:" or a quoted 64-hex-digit ETag; empty when neither.
std::string response_sha256(const std::optional<std::string>& repr_digest, const std::optional<std::string>& etag);

}  // namespace wfctl::remote
