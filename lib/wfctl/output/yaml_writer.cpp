// YAML output written here rather than by yaml-cpp's emitter, which wrote DEL, U+0085 and
// U+2028 raw (YAML readers refuse or split on them), never quoted keys ("yes", "1",
// "2001-12-14" and "<<" then changed type or merged in other readers), and wrote floats like
// 1e+300 that YAML 1.1 reads as strings. Every string, key or value, is plain only when every
// YAML 1.1 and 1.2 reader takes it back as that very string; otherwise it is double-quoted
// with escapes for everything that is not printable.
#include <wfctl/output/render.hpp>

#include <fmt/format.h>
#include <string_view>
#include <wfctl/model/yaml_scalar.hpp>
#include <wfctl/util/utf8.hpp>

namespace wfctl::output {

namespace {

// Strings a YAML 1.2 or 1.1 reader (PyYAML, yaml-cpp users) would take for something else:
// null, booleans (yes/no/on/off too), numbers in any base, infinities, dates and times.
bool retyped(const std::string& s) {
  Json resolved;
  try {
    resolved = resolve_plain_scalar(s);
  } catch (const std::exception&) {
    return true;  // a number too large is still a number to other readers
  }
  if (!resolved.is_string()) return true;
  static const char* const k_words[] = {"y",  "Y",  "yes", "Yes",  "YES",  "n",    "N",    "no",   "No",
                                        "NO", "on", "On",  "ON",   "off",  "Off",  "OFF",  "~",    ".inf",
                                        ".Inf", ".INF", "-.inf", "+.inf", ".nan", ".NaN", ".NAN", "<<", "="};
  for (const char* w : k_words)
    if (s == w) return true;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  // Anything that starts like a number, a date or a time is quoted rather than guessed about.
  return digit(s[0]) || ((s[0] == '-' || s[0] == '+' || s[0] == '.') && s.size() > 1 && (digit(s[1]) || s[1] == '.'));
}

// Code points a YAML document may hold as they are (YAML 1.2 c-printable, less what some
// readers still treat as line breaks or byte order marks).
bool printable(char32_t cp) {
  if (cp == '\t') return true;
  if (cp < 0x20 || cp == 0x7f) return false;
  if (is_c1_control(cp)) return false;  // U+0085 (NEL) among them
  if (cp == 0x2028 || cp == 0x2029 || cp == 0xfeff || cp == 0xfffe || cp == 0xffff) return false;
  return true;
}

bool plain_ok(const std::string& s) {
  if (s.empty() || retyped(s)) return false;
  static constexpr std::string_view k_indicators = "-?:,[]{}#&*!|>'\"%@`";
  if (k_indicators.find(s.front()) != std::string_view::npos) return false;
  if (s.front() == ' ' || s.back() == ' ' || s.back() == ':' || s.front() == '\t' || s.back() == '\t') return false;
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos || s.find('\t') != std::string::npos)
    return false;
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = utf8_sequence(s, i, cp);
    if (n == 0 || !printable(cp)) return false;
    i += n;
  }
  return true;
}

void quoted(std::string& out, const std::string& s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    std::size_t n = utf8_sequence(s, i, cp);
    if (n == 0) {  // not UTF-8 (a value from a DICOM file): YAML cannot hold the byte
      out += "\\uFFFD";
      ++i;
      continue;
    }
    switch (cp) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case 0x85: out += "\\N"; break;
      case 0x2028: out += "\\L"; break;
      case 0x2029: out += "\\P"; break;
      default:
        if (printable(cp)) out.append(s, i, n);
        else if (cp <= 0xff) out += fmt::format("\\x{:02x}", static_cast<unsigned>(cp));
        else out += fmt::format("\\u{:04X}", static_cast<unsigned>(cp));
    }
    i += n;
  }
  out += '"';
}

void scalar(std::string& out, const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: out += "null"; return;
    case Json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; return;
    case Json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      if (plain_ok(s)) out += s;
      else quoted(out, s);
      return;
    }
    case Json::value_t::number_float: {
      // YAML 1.1 reads 1e+300 as a string: a float needs a dot in its mantissa there.
      std::string text = v.dump();
      auto e = text.find_first_of("eE");
      if (text.find('.') == std::string::npos) text.insert(e == std::string::npos ? text.size() : e, ".0");
      out += text;
      return;
    }
    default:
      out += v.dump();
      return;
  }
}

bool inline_value(const Json& v) { return !v.is_structured() || v.empty(); }

void inline_text(std::string& out, const Json& v) {
  if (v.is_object()) out += "{}";
  else if (v.is_array()) out += "[]";
  else scalar(out, v);
}

void write(std::string& out, const Json& v, std::size_t indent, bool continues_line);

void write_object(std::string& out, const Json& v, std::size_t indent, bool continues_line) {
  bool first = true;
  for (const auto& [key, value] : v.items()) {
    if (!(first && continues_line)) out.append(indent, ' ');
    first = false;
    scalar(out, Json(key));
    out += ':';
    if (inline_value(value)) {
      out += ' ';
      inline_text(out, value);
      out += '\n';
    } else {
      out += '\n';
      write(out, value, indent + 2, false);
    }
  }
}

void write_array(std::string& out, const Json& v, std::size_t indent, bool continues_line) {
  bool first = true;
  for (const auto& item : v) {
    if (!(first && continues_line)) out.append(indent, ' ');
    first = false;
    out += "- ";
    if (inline_value(item)) {
      inline_text(out, item);
      out += '\n';
    } else {
      write(out, item, indent + 2, true);  // the item's first line follows the dash
    }
  }
}

void write(std::string& out, const Json& v, std::size_t indent, bool continues_line) {
  if (v.is_object()) write_object(out, v, indent, continues_line);
  else write_array(out, v, indent, continues_line);
}

}  // namespace

std::string to_yaml(const Json& value) {
  std::string out;
  if (inline_value(value)) {
    inline_text(out, value);
    out += '\n';
  } else {
    write(out, value, 0, false);
  }
  return out;
}

}  // namespace wfctl::output
