#include <wfctl/util/time.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fmt/format.h>

namespace wfctl {

namespace {
std::string format_iso(std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  auto secs = floor<seconds>(now);
  auto micros = duration_cast<microseconds>(now - secs).count();
  std::time_t t = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}
}  // namespace

std::string now_iso_utc() { return format_iso(std::chrono::system_clock::now()); }

std::string iso_utc_from_ns(long long unix_ns) {
  using namespace std::chrono;
  return format_iso(system_clock::time_point(duration_cast<system_clock::duration>(nanoseconds(unix_ns))));
}

}  // namespace wfctl

namespace wfctl {

std::string iso_utc(std::chrono::system_clock::time_point t) { return format_iso(t); }

std::optional<std::chrono::system_clock::time_point> parse_iso_utc(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  long micros = 0;
  std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%6ld", &y, &mo, &d, &h, &mi, &s, &micros) != 7) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t) + std::chrono::microseconds(micros);
}

}  // namespace wfctl
