#include <wfctl/store/remote/protocol.hpp>

#include <time.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace wfctl::remote {

std::string RemoteUrl::base() const { return fmt::format("{}://{}:{}{}", scheme, host, port, prefix); }

RemoteUrl parse_remote_url(std::string_view url) {
  RemoteUrl u;
  auto sep = url.find("://");
  if (sep == std::string_view::npos) throw Error(ErrorKind::usage, fmt::format("invalid store URL '{}'", url));
  u.scheme = std::string(url.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https")
    throw Error(ErrorKind::usage, fmt::format("invalid store URL '{}': the scheme must be http or https", url));
  std::string_view rest = url.substr(sep + 3);
  auto path_at = rest.find('/');
  std::string_view authority = rest.substr(0, path_at);
  std::string_view path = path_at == std::string_view::npos ? std::string_view{} : rest.substr(path_at);
  const std::string shown = u.scheme + "://";
  if (authority.find('@') != std::string_view::npos)
    throw Error(ErrorKind::usage, fmt::format("store URL {}...: credentials do not belong in the URL", shown),
                "put a bearer token in a file named by --token-file, or in WFCTL_TOKEN");
  if (path.find_first_of("?#") != std::string_view::npos || authority.find_first_of("?#") != std::string_view::npos)
    throw Error(ErrorKind::usage, fmt::format("invalid store URL '{}': no query or fragment allowed", url));
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) throw Error(ErrorKind::usage, fmt::format("invalid store URL '{}': bad host", url));
    host = authority.substr(0, close + 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') throw Error(ErrorKind::usage, fmt::format("invalid store URL '{}': bad host", url));
      port = authority.substr(close + 2);
      if (port.empty()) throw Error(ErrorKind::usage, fmt::format("invalid store URL '{}': empty port", url));
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) throw Error(ErrorKind::usage, fmt::format("invalid store URL '{}': empty port", url));
  }
  if (host.empty()) throw Error(ErrorKind::usage, fmt::format("invalid store URL '{}': no host", url));
  for (unsigned char c : host)
    if (c <= ' ' || c == '%' || c == '\\' || c >= 0x7f)
      throw Error(ErrorKind::usage, fmt::format("invalid store URL '{}': bad host", url));
  u.host = std::string(host);
  u.port = u.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535)
      throw Error(ErrorKind::usage, fmt::format("invalid store URL '{}': port must be 1 to 65535", url));
    u.port = p;
  }
  std::string prefix(path);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  for (unsigned char c : prefix)
    if (c <= ' ' || c >= 0x7f) throw Error(ErrorKind::usage, fmt::format("invalid store URL '{}': bad path", url));
  u.prefix = prefix.empty() ? std::string(k_default_prefix) : prefix;
  return u;
}

Capabilities reference_capabilities() {
  Capabilities c;  // every optional capability off ...
  c.arbitrary_result_names = true;  // ... but upload takes any file name
  return c;
}

ServerInfo parse_server_info(long status, std::string_view body) {
  ServerInfo info;
  info.capabilities = reference_capabilities();
  if (status != 200) return info;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("name") || j["name"] != "wfctl") return info;
  info.is_wfctl = true;
  if (j.contains("version") && j["version"].is_string()) info.version = j["version"].get<std::string>();
  Capabilities c;
  const auto caps = j.contains("capabilities") && j["capabilities"].is_object() ? j["capabilities"] : nlohmann::json::object();
  auto flag = [&](const char* key) { return caps.contains(key) && caps[key].is_boolean() && caps[key].get<bool>(); };
  c.multi_object_transactions = flag("multi_object_transactions");
  c.result_listing = flag("result_listing");
  c.arbitrary_result_names = flag("arbitrary_result_names");
  c.stored_digests = flag("stored_digests");
  c.definition_update = flag("definition_update");
  c.result_deletion = flag("result_deletion");
  c.job_queue = flag("job_queue");
  info.capabilities = c;
  return info;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now,
                                                           std::chrono::milliseconds cap) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
    std::uint64_t s = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), s);
    if (ec == std::errc::result_out_of_range) return cap;
    if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
    if (s >= static_cast<std::uint64_t>(cap.count() / 1000) + 1) return cap;
    return std::min(cap, std::chrono::milliseconds(s * 1000));
  }
  // IMF-fixdate, as HTTP sends it: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  std::string text(value);
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  auto at = std::chrono::system_clock::from_time_t(::timegm(&tm));
  if (at <= now) return std::chrono::milliseconds(0);
  return std::min(cap, std::chrono::duration_cast<std::chrono::milliseconds>(at - now));
}

std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                        std::mt19937_64& rng) {
  std::int64_t ceiling = base.count();
  for (int i = 0; i < attempt && ceiling < cap.count(); ++i) ceiling *= 2;
  ceiling = std::min<std::int64_t>(ceiling, cap.count());
  std::uniform_int_distribution<std::int64_t> dist(0, std::max<std::int64_t>(ceiling, 0));
  return std::chrono::milliseconds(dist(rng));
}

bool is_idempotent(std::string_view method) noexcept {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE";
}

bool is_retryable_status(long status) noexcept { return status == 429 || status == 502 || status == 503 || status == 504; }

ErrorKind kind_for_status(long status) noexcept {
  switch (status) {
    case 404: return ErrorKind::not_found;
    case 401:
    case 403: return ErrorKind::permission;
    case 409: return ErrorKind::conflict;
    case 501: return ErrorKind::not_supported;
    default: break;
  }
  if (status >= 400 && status < 500) return ErrorKind::invalid_input;
  return ErrorKind::unavailable;
}

namespace {

std::string loc_text(const nlohmann::json& loc) {
  std::string out;
  for (const auto& part : loc) {
    if (!out.empty()) out += '.';
    out += part.is_string() ? part.get<std::string>() : part.dump();
  }
  return out;
}

}  // namespace

Error error_for_response(long status, std::string_view body, const std::optional<std::string>& location,
                         std::string_view server, std::string_view what) {
  if (status >= 300 && status < 400)
    return Error(ErrorKind::unavailable,
                 fmt::format("{}: {} answered {} redirecting to {}, which wfctl never follows", what, server, status,
                             location.value_or("nowhere")),
                 "check the store URL's path (the default prefix is /api/v1/workflow)");
  auto j = nlohmann::json::parse(body, nullptr, false);
  std::vector<ErrorItem> items;
  std::string detail;
  if (j.is_object() && j.contains("detail")) {
    const auto& d = j["detail"];
    if (d.is_string()) {
      detail = d.get<std::string>();
    } else if (d.is_array()) {
      for (const auto& entry : d) {
        ErrorItem item;
        if (entry.is_object()) {
          if (entry.contains("loc") && entry["loc"].is_array())
            for (const auto& part : entry["loc"]) {
              if (part.is_number_integer()) item.loc.emplace_back(part.get<std::int64_t>());
              else item.loc.emplace_back(part.is_string() ? part.get<std::string>() : part.dump());
            }
          if (entry.contains("msg") && entry["msg"].is_string()) item.msg = entry["msg"].get<std::string>();
          if (entry.contains("type") && entry["type"].is_string()) item.type = entry["type"].get<std::string>();
          std::string where = entry.contains("loc") && entry["loc"].is_array() ? loc_text(entry["loc"]) : "";
          item.text = where.empty() ? item.msg : where + ": " + item.msg;
        } else {
          item.msg = item.text = entry.dump();
        }
        if (!detail.empty()) detail += "; ";
        detail += item.text;
        items.push_back(std::move(item));
      }
    } else {
      detail = d.dump();
    }
  } else {
    std::string text(body.substr(0, 200));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
    bool printable = std::all_of(text.begin(), text.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
    detail = printable ? text : "";
  }
  std::string message = fmt::format("{}: {} answered {}", what, server, status);
  if (!detail.empty()) message += ": " + detail;
  ErrorKind kind = kind_for_status(status);
  std::string hint;
  if (kind == ErrorKind::permission)
    hint = status == 401 ? "give a bearer token in WFCTL_TOKEN or a file named by --token-file"
                         : "the token was accepted but may not do this";
  if (kind != ErrorKind::invalid_input) items.clear();
  return Error(kind, message, hint, items);
}

std::optional<std::string> base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[i + k];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else {
        if (pad) return std::nullopt;
        v[k] = value(c);
        if (v[k] < 0) return std::nullopt;
      }
    }
    std::uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out += static_cast<char>(n >> 16);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::string response_sha256(const std::optional<std::string>& repr_digest, const std::optional<std::string>& etag) {
  static constexpr char k_hex[] = "0123456789abcdef";
  if (repr_digest) {
    // A dictionary: "sha-256=:BASE64:, sha-512=:...:"; only sha-256 is looked at.
    std::string_view d = *repr_digest;
    auto at = d.find("sha-256=:");
    if (at != std::string_view::npos) {
      auto start = at + 9;
      auto end = d.find(':', start);
      if (end != std::string_view::npos) {
        if (auto raw = base64_decode(d.substr(start, end - start)); raw && raw->size() == 32) {
          std::string hex;
          for (unsigned char c : *raw) {
            hex += k_hex[c >> 4];
            hex += k_hex[c & 15];
          }
          return hex;
        }
      }
    }
  }
  if (etag) {
    std::string_view e = *etag;
    if (e.size() == 66 && e.front() == '"' && e.back() == '"') {
      std::string hex(e.substr(1, 64));
      std::transform(hex.begin(), hex.end(), hex.begin(), [](unsigned char c) { return std::tolower(c); });
      if (std::all_of(hex.begin(), hex.end(), [](unsigned char c) { return std::isxdigit(c); })) return hex;
    }
  }
  return {};
}

}  // namespace wfctl::remote
