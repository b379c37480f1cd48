// The config file's YAML, read from libyaml's events (the same parser as workflow documents:
// bounded memory, errors with line and column) and written by the output module's YAML writer.
#include <yaml.h>

#include <fmt/format.h>
#include <wfctl/config/config.hpp>
#include <wfctl/error.hpp>
#include <wfctl/model/json_reader.hpp>
#include <wfctl/output/render.hpp>

namespace wfctl::config {

namespace {

class ConfigParser {
 public:
  ConfigParser(std::string_view text, const std::string& path) : m_path(path) {
    check_yaml_syntax(text, path);  // well-formed first: a syntax error gets libyaml's own words
    yaml_parser_initialize(&m_parser);
    yaml_parser_set_input_string(&m_parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  }
  ~ConfigParser() {
    if (m_have) yaml_event_delete(&m_event);
    yaml_parser_delete(&m_parser);
  }
  ConfigParser(const ConfigParser&) = delete;
  ConfigParser& operator=(const ConfigParser&) = delete;

  ConfigFile parse(ConfigFile cfg) {
    next();  // STREAM-START
    next();
    if (m_event.type == YAML_STREAM_END_EVENT) return cfg;  // an empty file
    next();  // past DOCUMENT-START: the root
    if (is_null_scalar()) return cfg;
    if (m_event.type != YAML_MAPPING_START_EVENT) fail("the config must be a mapping");
    for (next(); m_event.type != YAML_MAPPING_END_EVENT; next()) {
      const yaml_mark_t key_mark = m_event.start_mark;
      const std::string key = key_text();
      next();
      if (key == "current-context") {
        if (!is_null_scalar()) cfg.current_context = value_text(key);
      } else if (key == "contexts") {
        if (is_null_scalar()) continue;
        if (m_event.type != YAML_MAPPING_START_EVENT) fail("'contexts' must be a mapping of name to context");
        for (next(); m_event.type != YAML_MAPPING_END_EVENT; next()) {
          const std::string name = key_text();
          next();
          cfg.contexts.push_back(context(name));
        }
      } else {
        fail_at(key_mark, fmt::format("unknown key '{}' (known: current-context, contexts)", key));
      }
    }
    next();  // DOCUMENT-END
    next();
    if (m_event.type != YAML_STREAM_END_EVENT) fail("the config must be one YAML document");
    return cfg;
  }

 private:
  Context context(const std::string& name) {
    Context c{name, {}, {}};
    if (is_null_scalar()) return c;
    if (m_event.type != YAML_MAPPING_START_EVENT) fail(fmt::format("context '{}' must be a mapping", name));
    for (next(); m_event.type != YAML_MAPPING_END_EVENT; next()) {
      const yaml_mark_t key_mark = m_event.start_mark;
      const std::string key = key_text();
      if (key == "handlers") {
        next();
        c.handlers = handlers(name);
        continue;
      }
      const SettingSpec* row = nullptr;
      for (const auto& r : settings_table())
        if (key == r.name) row = &r;
      if (!row) {
        std::string known;
        for (const auto& r : settings_table()) known += (known.empty() ? "" : ", ") + std::string(r.name);
        known += ", handlers";
        fail_at(key_mark, fmt::format("unknown key '{}' in context '{}' (known: {})", key, name, known));
      }
      next();
      c.values[row->key] = value_text(key);
    }
    return c;
  }

  // handlers: {topic: command}, the worker's command per job topic.
  std::map<std::string, std::string> handlers(const std::string& context) {
    std::map<std::string, std::string> out;
    if (is_null_scalar()) return out;
    if (m_event.type != YAML_MAPPING_START_EVENT)
      fail(fmt::format("'handlers' of context '{}' must be a mapping of topic to command", context));
    for (next(); m_event.type != YAML_MAPPING_END_EVENT; next()) {
      const std::string topic = key_text();
      next();
      out[topic] = value_text(topic);
    }
    return out;
  }

  void next() {
    if (m_have) yaml_event_delete(&m_event);
    m_have = false;
    if (!yaml_parser_parse(&m_parser, &m_event)) fail_at(m_parser.problem_mark, "invalid YAML");
    m_have = true;
    if (m_event.type == YAML_ALIAS_EVENT) fail("aliases are not allowed in the config");
  }

  bool is_scalar() const { return m_event.type == YAML_SCALAR_EVENT; }
  std::string text() const {
    return {reinterpret_cast<const char*>(m_event.data.scalar.value), m_event.data.scalar.length};
  }
  bool is_null_scalar() const {
    if (!is_scalar() || m_event.data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    const std::string t = text();
    return t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL";
  }
  std::string key_text() {
    if (!is_scalar()) fail("keys must be strings");
    return text();
  }
  std::string value_text(const std::string& key) {
    if (!is_scalar()) fail(fmt::format("'{}' must be a string", key));
    return text();
  }

  [[noreturn]] void fail(const std::string& why) { fail_at(m_event.start_mark, why); }
  [[noreturn]] void fail_at(const yaml_mark_t& m, const std::string& why) {
    throw Error(ErrorKind::usage, fmt::format("{}:{}:{}: {}", m_path, m.line + 1, m.column + 1, why));
  }

  const std::string& m_path;
  yaml_parser_t m_parser{};
  yaml_event_t m_event{};
  bool m_have = false;
};

}  // namespace

ConfigFile parse_config(std::string_view text, const std::string& path) {
  ConfigFile cfg;
  cfg.path = path;
  cfg.exists = true;
  try {
    return ConfigParser(text, path).parse(std::move(cfg));
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::usage) throw;
    throw Error(ErrorKind::usage, e.what(), e.hint());  // a malformed config is a configuration error
  }
}

std::string render_config(const ConfigFile& cfg) {
  Json root = Json::object();
  if (cfg.current_context) root["current-context"] = *cfg.current_context;
  Json contexts = Json::object();
  for (const auto& c : cfg.contexts) {
    Json values = Json::object();
    for (const auto& row : settings_table())
      if (auto v = c.get(row.key)) values[row.name] = *v;
    if (!c.handlers.empty()) {
      Json h = Json::object();
      for (const auto& [topic, command] : c.handlers) h[topic] = command;
      values["handlers"] = std::move(h);
    }
    contexts[c.name] = std::move(values);
  }
  root["contexts"] = std::move(contexts);
  return output::to_yaml(root);
}

}  // namespace wfctl::config
