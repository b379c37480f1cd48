// The pure parts of the HTTP client, built into the core and into wfctl-curl.so.
#include <wfctl/net/http_client.hpp>

#include <strings.h>

namespace wfctl::net {

void Headers::add(std::string name, std::string value) { m_fields.emplace_back(std::move(name), std::move(value)); }

std::optional<std::string> Headers::find(std::string_view name) const {
  for (const auto& [n, v] : m_fields)
    if (n.size() == name.size() && ::strncasecmp(n.data(), name.data(), n.size()) == 0) return v;
  return std::nullopt;
}

std::string percent_encode(std::string_view text) {
  static const char* k_hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
    }
  }
  return out;
}

}  // namespace wfctl::net
