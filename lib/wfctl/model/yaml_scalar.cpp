#include <wfctl/model/yaml_scalar.hpp>

#include <cmath>

namespace wfctl {

Json resolve_plain_scalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  try {
    std::size_t pos = 0;
    long long v = std::stoll(s, &pos, 10);
    if (pos == s.size()) return v;
  } catch (const std::exception&) {
  }
  if (s.find_first_not_of("0123456789") == std::string::npos) {
    try {  // past INT64_MAX but within 64 bits, as JSON keeps it
      std::size_t pos = 0;
      unsigned long long v = std::stoull(s, &pos, 10);
      if (pos == s.size()) return v;
    } catch (const std::exception&) {
    }
  }
  bool looks_numeric = s.find_first_not_of("0123456789+-.eE") == std::string::npos &&
                       s.find_first_of("0123456789") != std::string::npos;
  if (looks_numeric) {
    try {
      std::size_t pos = 0;
      double d = std::stod(s, &pos);
      if (pos == s.size() && std::isfinite(d)) return d;
    } catch (const std::exception&) {
    }
  }
  if (s == ".inf" || s == ".Inf" || s == "-.inf" || s == ".nan" || s == ".NaN")
    return s;  // JSON has no infinities; keep the text rather than lose the value
  return s;
}

}  // namespace wfctl
