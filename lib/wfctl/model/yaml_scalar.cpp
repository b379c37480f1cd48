#include <wfctl/model/yaml_scalar.hpp>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <wfctl/error.hpp>

namespace wfctl {

namespace {

bool is_decimal_integer(const std::string& s) {
  std::size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
  return i < s.size() && s.find_first_not_of("0123456789", i) == std::string::npos;
}

}  // namespace

Json resolve_plain_scalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (is_decimal_integer(s)) {
    errno = 0;
    char* end = nullptr;
    if (s[0] == '-') {
      long long v = std::strtoll(s.c_str(), &end, 10);
      if (errno == 0 && *end == '\0') return v;
    } else {
      unsigned long long v = std::strtoull(s.c_str(), &end, 10);
      if (errno == 0 && *end == '\0') {
        if (v <= static_cast<unsigned long long>(INT64_MAX)) return static_cast<long long>(v);
        return v;  // past INT64_MAX but within 64 bits, as JSON keeps it
      }
    }
    throw Error(ErrorKind::invalid_input, "integer " + s + " does not fit in 64 bits", "quote it to keep it as text");
  }
  bool looks_numeric = s.find_first_not_of("0123456789+-.eE") == std::string::npos &&
                       s.find_first_of("0123456789") != std::string::npos;
  if (looks_numeric) {
    errno = 0;
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (*end == '\0') {
      // Refused, as in JSON: beyond a double, or so small that it would become 0. (glibc also
      // says ERANGE for subnormal numbers, which keep a value and are accepted.)
      const std::string mantissa = s.substr(0, s.find_first_of("eE"));
      const bool nonzero = mantissa.find_first_of("123456789") != std::string::npos;
      if (!std::isfinite(d) || (d == 0 && nonzero))
        throw Error(ErrorKind::invalid_input, "number " + s + " is out of range", "quote it to keep it as text");
      return d;
    }
  }
  return s;  // .inf and .nan too: JSON has neither, so the text is kept rather than the value lost
}

}  // namespace wfctl
