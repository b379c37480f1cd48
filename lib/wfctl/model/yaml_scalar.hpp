#pragma once
#include <string>

#include <wfctl/model/workflow.hpp>

namespace wfctl {
/// What a plain (unquoted) YAML scalar means under YAML 1.2's core schema: null, a boolean,
/// an integer, a float, or the string itself. Throws Error(invalid_input, "integer N does
/// not fit in 64 bits" / "number N is out of range") rather than round such a number.
Json resolve_plain_scalar(const std::string& text);
}  // namespace wfctl
