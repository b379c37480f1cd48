#pragma once
#include <string>
#include <string_view>

namespace wfctl::output {

/// Appends `compact` (valid JSON, as nlohmann's dump() writes it) to `out` indented exactly
/// like dump(2) would, the first line continuing the current one and nested lines starting at
/// `indent` + 2 spaces. Whitespace between tokens in the input is dropped. Lets `list -o json`
/// print stored definitions without parsing them.
void append_pretty_json(std::string& out, std::string_view compact, unsigned indent);

}  // namespace wfctl::output
