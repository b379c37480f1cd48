#pragma once
// Small text helpers shared by the completion script generators.
#include <string>
#include <string_view>
#include <vector>

#include "completion_spec.hpp"

namespace wfctl::cli::completion::text {

inline std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

// The first line of a description: completion menus show one line per entry.
inline std::string summary(const std::string& description) {
  return description.substr(0, description.find('\n'));
}

// A command's path as the scripts name it: "wfctl", "wfctl result upload".
inline std::string full_path(const CommandSpec& c) {
  return c.path.empty() ? "wfctl" : "wfctl " + c.path;
}

}  // namespace wfctl::cli::completion::text
