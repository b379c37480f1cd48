#include <wfctl/jobs/handler.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <wfctl/error.hpp>

namespace wfctl {

namespace fs = std::filesystem;

namespace {
const std::vector<std::string_view> k_placeholders = {"input", "output", "record_id", "data_lake", "job_id", "topic"};

// Calls `on_placeholder(name)` for each {name} and `on_text(text)` for the rest of `word`.
template <typename Text, typename Placeholder>
void scan(std::string_view word, const std::string& source, Text on_text, Placeholder on_placeholder) {
  for (std::size_t i = 0; i < word.size();) {
    if (word.compare(i, 2, "{{") == 0 || word.compare(i, 2, "}}") == 0) {
      on_text(word.substr(i, 1));
      i += 2;
    } else if (word[i] == '{') {
      auto close = word.find('}', i);
      if (close == std::string_view::npos)
        throw Error(ErrorKind::usage, fmt::format("{}: unclosed '{{' in handler word '{}'", source, word), "write {{ for a literal brace");
      std::string_view name = word.substr(i + 1, close - i - 1);
      if (std::find(k_placeholders.begin(), k_placeholders.end(), name) == k_placeholders.end())
        throw Error(ErrorKind::usage, fmt::format("{}: unknown placeholder {{{}}} in handler", source, name),
                    fmt::format("use {{{}}}", fmt::join(k_placeholders, "}, {")));
      on_placeholder(name);
      i = close + 1;
    } else if (word[i] == '}') {
      throw Error(ErrorKind::usage, fmt::format("{}: unmatched '}}' in handler word '{}'", source, word), "write }} for a literal brace");
    } else {
      on_text(word.substr(i, 1));
      ++i;
    }
  }
}
}  // namespace

const std::vector<std::string_view>& handler_placeholders() { return k_placeholders; }

Handler parse_handler(std::string_view command, const std::string& source) {
  Handler h;
  h.source = source;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < command.size(); ++i) {
    char c = command[i];
    if (quote == '\'') {
      if (c == '\'') quote = 0;
      else word += c;
    } else if (quote == '"') {
      if (c == '"') quote = 0;
      else if (c == '\\' && i + 1 < command.size() && (command[i + 1] == '"' || command[i + 1] == '\\')) word += command[++i];
      else word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < command.size()) {
      word += command[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) h.words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote) throw Error(ErrorKind::usage, fmt::format("{}: unterminated {} quote in handler", source, quote == '"' ? "double" : "single"));
  if (in_word) h.words.push_back(std::move(word));
  if (h.words.empty()) throw Error(ErrorKind::usage, fmt::format("{}: the handler command is empty", source));
  for (const auto& w : h.words) scan(w, source, [](std::string_view) {}, [](std::string_view) {});
  return h;
}

std::vector<std::string> expand(const Handler& h, const std::map<std::string, std::string>& values) {
  std::vector<std::string> argv;
  for (const auto& w : h.words) {
    std::string out;
    scan(w, h.source, [&](std::string_view t) { out += t; },
         [&](std::string_view name) {
           auto it = values.find(std::string(name));
           if (it != values.end()) out += it->second;
         });
    argv.push_back(std::move(out));
  }
  return argv;
}

std::string cartesian_program() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path candidate : {self.parent_path() / "wfctl-cartesian",
                               self.parent_path().parent_path() / "wfctl-cartesian" / "wfctl-cartesian"}) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  return "wfctl-cartesian";
}

Handler default_cartesian_handler() {
  Handler h;
  h.words = {cartesian_program(), "{input}", "{output}", "--record-id", "{record_id}"};
  h.source = "the default handler of mri_cartesian_reco";
  return h;
}

}  // namespace wfctl
