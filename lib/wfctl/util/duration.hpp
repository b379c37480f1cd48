#pragma once
// Durations as users write them: "30s", "500ms", "2m", "1h", or a bare number of seconds.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace wfctl {

/// The duration `text` names: a non-negative decimal number with an optional unit ms, s, m
/// or h (seconds when absent), at most 24 hours; nullopt when `text` is not one.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// A duration for messages: "500ms", "30s", "1.5s", "2m".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace wfctl
