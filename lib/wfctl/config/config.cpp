#include <wfctl/config/config.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <wfctl/error.hpp>
#include <wfctl/model/json_reader.hpp>
#include <wfctl/output/render.hpp>
#include <wfctl/util/duration.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/interrupt.hpp>
#include <wfctl/util/utf8.hpp>

namespace wfctl::config {

namespace {

std::string home_dir(const EnvLookup& env) {
  auto home = env("HOME");
  if (!home || home->empty()) throw Error(ErrorKind::usage, "HOME is not set", "set HOME or give --store and --config");
  return *home;
}

std::string text_problem(const std::string& v) {
  if (v.empty()) return "give a value that is not empty";
  if (has_control_or_bad_utf8(v)) return "give UTF-8 text without control characters";  // it reaches terminals
  return {};
}

std::string output_problem(const std::string& v) {
  try {
    output::parse_format(v);
    return {};
  } catch (const Error&) {
    return "use one of: table, wide, json, yaml, name";
  }
}

std::string duration_problem(const std::string& v) {
  if (parse_duration(v)) return {};
  return "use a duration such as 30s, 500ms, 2m or 0 (at most 24h)";
}

std::optional<std::string> default_store(const EnvLookup& env) {
  auto xdg = env("XDG_DATA_HOME");
  std::string base = (xdg && !xdg->empty()) ? *xdg : home_dir(env) + "/.local/share";
  return base + "/wfctl";
}
std::optional<std::string> default_output(const EnvLookup&) { return std::string("table"); }
std::optional<std::string> no_default(const EnvLookup&) { return std::nullopt; }
std::optional<std::string> default_lock_timeout(const EnvLookup&) { return std::string("30s"); }
std::optional<std::string> default_transport(const EnvLookup&) { return std::string("local"); }
std::optional<std::string> default_kafka_group(const EnvLookup&) { return std::string("wfctl"); }
std::optional<std::string> default_kafka_timeout(const EnvLookup&) { return std::string("10s"); }

std::string transport_problem(const std::string& v) {
  if (v == "local" || v == "kafka") return {};
  return "use one of: local, kafka";
}

std::string brokers_problem(const std::string& v) {
  if (auto why = text_problem(v); !why.empty()) return why;
  if (v.find_first_of(" \t") != std::string::npos) return "give HOST:PORT[,HOST:PORT...] without spaces";
  return {};
}

// Topic names allow [A-Za-z0-9._-], so a prefix may hold those only.
std::string prefix_problem(const std::string& v) {
  for (unsigned char c : v)
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '-') return "use only A-Z a-z 0-9 . _ -";
  if (v.empty()) return "give a value that is not empty";
  return {};
}

std::string timeout_problem(const std::string& v) {
  auto d = parse_duration(v);
  if (d && d->count() > 0) return {};
  return "use a duration such as 10s, 1500ms or 1m (more than 0, at most 24h)";
}

std::optional<std::string> default_connect_timeout(const EnvLookup&) { return std::string("10s"); }
std::optional<std::string> default_http_timeout(const EnvLookup&) { return std::string("0"); }
std::optional<std::string> default_false(const EnvLookup&) { return std::string("false"); }

std::optional<bool> parse_bool(const std::string& v) {
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return std::nullopt;
}

std::string bool_problem(const std::string& v) {
  if (parse_bool(v)) return {};
  return "use true or false";
}

const std::vector<SettingSpec> k_table = {
    {Key::store, "store", "store", "--store", "WFCTL_STORE", "URL", "Store: a directory, sqlite:PATH, or http(s)://URL",
     default_store, text_problem},
    {Key::output, "output", "output format", "--output", "WFCTL_OUTPUT", "FORMAT", "Output format: table, wide, json, yaml, name",
     default_output, output_problem},
    {Key::token_file, "token-file", "token file", "--token-file", "WFCTL_TOKEN_FILE", "FILE",
     "File holding a bearer token for a remote store", no_default, text_problem},
    {Key::lock_timeout, "lock-timeout", "lock timeout", "--lock-timeout", "WFCTL_LOCK_TIMEOUT", "DURATION",
     "How long a write waits for another process's lock (30s, 500ms, 0)", default_lock_timeout, duration_problem},
    {Key::transport, "transport", "transport", "--transport", "WFCTL_TRANSPORT", "NAME",
     "How jobs reach workers: local (the store's queue) or kafka", default_transport, transport_problem},
    {Key::kafka_brokers, "kafka-brokers", "kafka brokers", "--kafka-brokers", "WFCTL_KAFKA_BROKERS", "HOST:PORT,...",
     "Kafka bootstrap servers of the kafka transport", no_default, brokers_problem},
    {Key::kafka_topic_prefix, "kafka-topic-prefix", "kafka topic prefix", "--kafka-topic-prefix",
     "WFCTL_KAFKA_TOPIC_PREFIX", "PREFIX", "Put before every job topic on Kafka (e.g. site1.)", no_default, prefix_problem},
    {Key::kafka_group, "kafka-group", "kafka consumer group", "--kafka-group", "WFCTL_KAFKA_GROUP", "GROUP",
     "Consumer group of kafka workers (ScanHub's own consumers keep theirs)", default_kafka_group, text_problem},
    {Key::kafka_config, "kafka-config", "kafka config file", "--kafka-config", "WFCTL_KAFKA_CONFIG", "FILE",
     "librdkafka properties file (key=value lines: security.protocol, sasl.*, ssl.*)", no_default, text_problem},
    {Key::kafka_timeout, "kafka-timeout", "kafka timeout", "--kafka-timeout", "WFCTL_KAFKA_TIMEOUT", "DURATION",
     "How long a publish waits for the broker's acknowledgement", default_kafka_timeout, timeout_problem},
    {Key::ca_file, "ca-file", "CA file", "--ca-file", "WFCTL_CA_FILE", "FILE",
     "PEM CA certificates that verify a remote store's TLS certificate (instead of the system's)", no_default,
     text_problem},
    {Key::insecure, "insecure", "insecure setting", "--insecure", "WFCTL_INSECURE", "",
     "Do not verify a remote store's TLS certificate (verification is on by default)", default_false, bool_problem},
    {Key::connect_timeout, "connect-timeout", "connect timeout", "--connect-timeout", "WFCTL_CONNECT_TIMEOUT",
     "DURATION", "How long connecting to a remote store may take", default_connect_timeout, timeout_problem},
    {Key::http_timeout, "http-timeout", "HTTP timeout", "--http-timeout", "WFCTL_HTTP_TIMEOUT", "DURATION",
     "How long one request to a remote store may take in all (0: no limit; 30s without a byte always fails)",
     default_http_timeout, duration_problem},
};

std::string read_file(const std::string& path, bool& exists) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) {
      exists = false;
      return {};
    }
    throw errno_error(errno, "cannot read config " + path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode))
    throw Error(ErrorKind::usage, fmt::format("config {} is a directory", path), "the config is a YAML file");
  exists = true;
  std::string text;
  char buf[8192];
  while (std::size_t n = read_some(fd.get(), buf, sizeof buf, "config " + path)) text.append(buf, n);
  return text;
}

// An exclusive lock on path + ".lock", held until destruction; a wait ends on Ctrl-C.
class ConfigLock {
 public:
  explicit ConfigLock(const std::string& config_path) {
    std::filesystem::path lock = config_path + ".lock";
    std::error_code ec;
    if (lock.has_parent_path()) std::filesystem::create_directories(lock.parent_path(), ec);
    m_fd.reset(::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!m_fd) throw errno_error(errno, "cannot lock config " + config_path);
    while (::flock(m_fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR) throw errno_error(errno, "cannot lock config " + config_path);
      throw_if_interrupted();
    }
  }

 private:
  UniqueFd m_fd;  // closing it releases the lock
};

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

const std::vector<SettingSpec>& settings_table() { return k_table; }

const SettingSpec& spec(Key key) {
  for (const auto& row : k_table)
    if (row.key == key) return row;
  throw Error(ErrorKind::internal, "unknown setting");
}

void check_value(Key key, const std::string& value, const std::string& source) {
  const auto& row = spec(key);
  std::string why = row.problem(value);
  if (!why.empty())
    throw Error(ErrorKind::usage, fmt::format("{}: invalid {} '{}'", source, row.what, value), why);
}

std::optional<std::string> Context::get(Key key) const {
  auto it = values.find(key);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

const Context* ConfigFile::find(const std::string& name) const {
  for (const auto& c : contexts)
    if (c.name == name) return &c;
  return nullptr;
}

Context* ConfigFile::find(const std::string& name) {
  for (auto& c : contexts)
    if (c.name == name) return &c;
  return nullptr;
}

ConfigFile load(const std::string& path) {
  ConfigFile cfg;
  cfg.path = path;
  std::string text = read_file(path, cfg.exists);
  if (!cfg.exists) return cfg;
  return parse_config(text, path);
}

void save(const ConfigFile& cfg) {
  write_file_atomic(cfg.path, render_config(cfg));
}

void update(const std::string& path, const std::function<void(ConfigFile&)>& change) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))  // before a lock file appears beside it
    throw Error(ErrorKind::usage, fmt::format("config {} is a directory", path), "the config is a YAML file");
  ConfigLock lock(path);
  ConfigFile file = load(path);
  change(file);
  save(file);
}

bool set_context(const std::string& path, const std::string& name, const std::map<Key, std::string>& values,
                 bool make_current) {
  if (auto why = text_problem(name); !why.empty())
    throw Error(ErrorKind::usage, fmt::format("invalid context name '{}'", name), why);
  for (const auto& [key, value] : values) check_value(key, value, fmt::format("context {}", name));
  bool created = false;
  update(path, [&](ConfigFile& file) {
    Context* c = file.find(name);
    created = !c;
    if (!c) {
      file.contexts.push_back(Context{name, {}, {}});
      c = &file.contexts.back();
    }
    for (const auto& [key, value] : values) c->values[key] = value;
    if (make_current) file.current_context = name;
  });
  return created;
}

void use_context(const std::string& path, const std::string& name) {
  update(path, [&](ConfigFile& file) {
    if (!file.find(name))
      throw Error(ErrorKind::not_found, "context '" + name + "' not found in " + file.path,
                  "create it with 'wfctl config set-context " + name + " --store PATH'");
    file.current_context = name;
  });
}

const char* to_string(Origin o) {
  switch (o) {
    case Origin::flag: return "flag";
    case Origin::env: return "env";
    case Origin::context: return "context";
    case Origin::default_value: return "default";
  }
  return "default";
}

Flags::Flags() {
  for (const auto& row : k_table) values[row.key];
}

Setting resolve_config_path(const Flags& flags, const EnvLookup& env) {
  if (flags.config) return Setting{flags.config, Origin::flag, "--config"};
  if (auto v = env("WFCTL_CONFIG"); v && !v->empty()) return Setting{v, Origin::env, "WFCTL_CONFIG"};
  auto xdg = env("XDG_CONFIG_HOME");
  std::string base = (xdg && !xdg->empty()) ? *xdg : home_dir(env) + "/.config";
  return Setting{base + "/wfctl/config.yaml", Origin::default_value, "default"};
}

Settings resolve(const Flags& flags, const EnvLookup& env, const ConfigFile& file) {
  Settings s;
  s.config_path = resolve_config_path(flags, env);

  if (flags.context) s.context = Setting{flags.context, Origin::flag, "--context"};
  else if (auto e = env("WFCTL_CONTEXT"); e && !e->empty()) s.context = Setting{e, Origin::env, "WFCTL_CONTEXT"};
  else if (file.current_context)
    s.context = Setting{file.current_context, Origin::context, fmt::format("current-context ({})", file.path)};

  const Context* ctx = nullptr;
  if (s.context.value) {
    ctx = file.find(*s.context.value);
    if (!ctx)
      throw Error(ErrorKind::usage,
                  fmt::format("context '{}' ({}) not found in {}", *s.context.value, s.context.source, file.path),
                  "list contexts with 'wfctl config get-contexts'");
  }

  for (const auto& row : k_table) {
    Setting& out = s.values[row.key];
    auto flag = flags.values.find(row.key);
    if (flag != flags.values.end() && flag->second) {
      out = Setting{flag->second, Origin::flag, row.flag};
    } else if (auto e = env(row.env); e && !e->empty()) {
      out = Setting{e, Origin::env, row.env};
    } else if (auto v = ctx ? ctx->get(row.key) : std::nullopt) {
      out = Setting{v, Origin::context, fmt::format("context {} ({})", ctx->name, file.path)};
    } else {
      out = Setting{row.default_value(env), Origin::default_value, "default"};
    }
  }
  return s;
}

std::chrono::milliseconds duration_setting(const Settings& settings, Key key) {
  const Setting& s = settings.get(key);
  check_value(key, *s.value, s.source);
  return *parse_duration(*s.value);
}

bool bool_setting(const Settings& settings, Key key) {
  const Setting& s = settings.get(key);
  check_value(key, *s.value, s.source);
  return *parse_bool(*s.value);
}

std::optional<std::string> env_token(const EnvLookup& env) {
  auto v = env("WFCTL_TOKEN");
  if (!v || v->empty()) return std::nullopt;
  return v;
}

std::chrono::milliseconds lock_timeout(const Settings& settings) {
  const Setting& s = settings.get(Key::lock_timeout);
  check_value(Key::lock_timeout, *s.value, s.source);
  return *parse_duration(*s.value);
}

}  // namespace wfctl::config
