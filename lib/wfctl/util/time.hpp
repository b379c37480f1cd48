#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace wfctl {
/// The current time as naive ISO-8601 UTC with microseconds, e.g. "2024-02-24T09:09:16.560759"
/// (the reference's datetime format).
std::string now_iso_utc();
}  // namespace wfctl

namespace wfctl {
/// A time in nanoseconds since the Unix epoch, in the same format as now_iso_utc().
std::string iso_utc_from_ns(long long unix_ns);
}  // namespace wfctl

namespace wfctl {
/// `t` in the same format as now_iso_utc(); such strings sort as their times do.
std::string iso_utc(std::chrono::system_clock::time_point t);
/// The time a string of that format names, or nullopt when it is not one.
std::optional<std::chrono::system_clock::time_point> parse_iso_utc(std::string_view text);
}  // namespace wfctl
