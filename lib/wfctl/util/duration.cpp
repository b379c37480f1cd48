#include <wfctl/util/duration.hpp>

#include <charconv>
#include <cmath>
#include <fmt/format.h>

namespace wfctl {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.'))
    ++digits;
  if (digits == 0) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, value);
  if (ec != std::errc() || end != text.data() + digits || !std::isfinite(value)) return std::nullopt;
  std::string_view unit = text.substr(digits);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1000;
  else if (unit == "ms") scale = 1;
  else if (unit == "m") scale = 60'000;
  else if (unit == "h") scale = 3'600'000;
  else return std::nullopt;
  double ms = value * scale;
  if (ms > 24.0 * 3'600'000) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(ms)));
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms % 60'000 == 0 && ms >= 60'000) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{:g}s", static_cast<double>(ms) / 1000);
}

}  // namespace wfctl
