#include <wfctl/jobs/settings.hpp>

#include <fmt/format.h>

namespace wfctl {

TransportOptions transport_options(const config::Settings& s) {
  using config::Key;
  TransportOptions t;
  const auto value = [&](Key key) -> std::optional<std::string> {
    const auto& v = s.get(key);
    if (v.value) config::check_value(key, *v.value, v.source);
    return v.value;
  };
  t.kind = value(Key::transport).value_or("local");
  t.brokers = value(Key::kafka_brokers).value_or("");
  t.topic_prefix = value(Key::kafka_topic_prefix).value_or("");
  t.group = value(Key::kafka_group).value_or("wfctl");
  t.config_file = value(Key::kafka_config);
  t.timeout = config::duration_setting(s, Key::kafka_timeout);
  return t;
}

std::map<std::string, Handler> configured_handlers(const config::ConfigFile& file, const config::Settings& s) {
  std::map<std::string, Handler> out;
  if (!s.context.value) return out;
  const config::Context* c = file.find(*s.context.value);
  if (!c) return out;
  for (const auto& [topic, command] : c->handlers)
    out.emplace(topic, parse_handler(command, fmt::format("context {}: handler of {}", c->name, topic)));
  return out;
}

}  // namespace wfctl
