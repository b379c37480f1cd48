#include <wfctl/output/pretty_json.hpp>

namespace wfctl::output {

void append_pretty_json(std::string& out, std::string_view in, unsigned indent) {
  auto newline = [&](unsigned level) {
    out += '\n';
    out.append(level, ' ');
  };
  auto next_token = [&](std::size_t i) {
    while (i < in.size() && (in[i] == ' ' || in[i] == '\n' || in[i] == '\r' || in[i] == '\t')) ++i;
    return i;
  };
  unsigned level = indent;
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    switch (c) {
      case ' ':
      case '\n':
      case '\r':
      case '\t':
        break;
      case '"': {
        std::size_t j = i + 1;
        while (j < in.size() && in[j] != '"') j += in[j] == '\\' ? 2 : 1;
        out.append(in.substr(i, j - i + 1));
        i = j;
        break;
      }
      case '{':
      case '[': {
        std::size_t j = next_token(i + 1);
        char close = c == '{' ? '}' : ']';
        if (j < in.size() && in[j] == close) {  // dump(2) writes empty containers as {} and []
          out += c;
          out += close;
          i = j;
          break;
        }
        out += c;
        level += 2;
        newline(level);
        break;
      }
      case '}':
      case ']':
        level -= 2;
        newline(level);
        out += c;
        break;
      case ',':
        out += ',';
        newline(level);
        break;
      case ':':
        out += ": ";
        break;
      default:
        out += c;
    }
  }
}

}  // namespace wfctl::output
