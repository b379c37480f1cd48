#include <wfctl/util/time.hpp>

#include <chrono>
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
