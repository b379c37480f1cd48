#pragma once
#include <string>

#include <wfctl/model/workflow.hpp>

namespace wfctl {
/// What a plain (unquoted) YAML scalar means under YAML 1.2's core schema: null, a boolean,
/// an integer, a float, or the string itself.
Json resolve_plain_scalar(const std::string& text);
}  // namespace wfctl
