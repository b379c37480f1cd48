// Properties files and wfctl's own settings applied to one librdkafka configuration.
#include <fmt/format.h>

#include <cerrno>
#include <fstream>
#include <wfctl/error.hpp>
#include <wfctl/jobs/kafka/properties.hpp>

namespace wfctl::kafka {

namespace {

std::string_view trim(std::string_view s) {
  const auto* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Sets one property; `where` is "FILE:LINE" or "wfctl". librdkafka's text for a refused
// value quotes the value, so it is shown only when the value does not appear in it.
void set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value,
         const std::string& where) {
  char errstr[512] = "";
  auto res = rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr);
  if (res == RD_KAFKA_CONF_OK) return;
  std::string why = res == RD_KAFKA_CONF_UNKNOWN ? "no such property" : "invalid value";
  std::string_view text = errstr;
  if (res == RD_KAFKA_CONF_INVALID && !text.empty() && !value.empty() &&
      text.find(value) == std::string_view::npos)
    why = fmt::format("invalid value: {}", text);
  throw Error(ErrorKind::usage, fmt::format("{}: kafka property '{}' refused: {}", where, key, why),
              "see librdkafka's CONFIGURATION.md for the properties and their values");
}

void apply_file(rd_kafka_conf_t* conf, const std::string& path) {
  errno = 0;
  std::ifstream in(path);
  if (!in) throw errno_error(errno ? errno : ENOENT, fmt::format("cannot read {}", path));
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    auto text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    auto eq = text.find('=');
    auto where = fmt::format("{}:{}", path, number);
    // The line itself is never shown: it may hold a password.
    if (eq == std::string_view::npos || trim(text.substr(0, eq)).empty())
      throw Error(ErrorKind::usage, fmt::format("{}: expected a line KEY=VALUE", where));
    set(conf, std::string(trim(text.substr(0, eq))), std::string(trim(text.substr(eq + 1))), where);
  }
  if (in.bad()) throw errno_error(errno ? errno : EIO, fmt::format("cannot read {}", path));
}

bool debug_requested(const rd_kafka_conf_t* conf) {
  char value[256] = "";
  size_t size = sizeof value;
  return rd_kafka_conf_get(conf, "debug", value, &size) == RD_KAFKA_CONF_OK && value[0] != '\0';
}

// librdkafka logs every failed connection attempt to stderr by default; those reach wfctl
// through the error callbacks and its own messages instead.
void drop_log(const rd_kafka_t*, int, const char*, const char*) {}

}  // namespace

ConfPtr make_conf(const TransportOptions& options, const Settings& settings) {
  ConfPtr conf(rd_kafka_conf_new());
  if (options.config_file) apply_file(conf.get(), *options.config_file);
  set(conf.get(), "bootstrap.servers", options.brokers, "wfctl");
  for (const auto& [key, value] : settings) set(conf.get(), key, value, "wfctl");
  if (!debug_requested(conf.get())) rd_kafka_conf_set_log_cb(conf.get(), drop_log);
  return conf;
}

std::string shown_brokers(std::string_view brokers) {
  std::string out;
  while (!brokers.empty()) {
    auto comma = brokers.find(',');
    auto one = trim(brokers.substr(0, comma));
    brokers = comma == std::string_view::npos ? std::string_view{} : brokers.substr(comma + 1);
    if (auto scheme = one.find("://"); scheme != std::string_view::npos)
      one = one.substr(scheme + 3);
    if (auto at = one.rfind('@'); at != std::string_view::npos) one = one.substr(at + 1);
    if (one.empty()) continue;
    if (!out.empty()) out += ',';
    out += one;
  }
  return out;
}

std::string error_text(rd_kafka_resp_err_t err) { return rd_kafka_err2str(err); }

}  // namespace wfctl::kafka
