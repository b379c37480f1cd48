#pragma once
// Configuration: a YAML file of named contexts, and the one place where every setting is
// resolved with the precedence flag > environment (WFCTL_*) > context > default.
//
// The settings a context can hold are one table (settings_table()): its rows drive the
// config file's keys, the global flags, the environment variables, `config view`,
// `config set-context` and its validation, and the tests that keep the man page in step.
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wfctl::config {

/// The settings a context may hold (the config path and the context name select the file
/// and the context, so they are resolved apart).
enum class Key {
  store,
  output,
  token_file,
  lock_timeout,
  transport,
  kafka_brokers,
  kafka_topic_prefix,
  kafka_group,
  kafka_config,
  kafka_timeout,
  ca_file,
  insecure,
  connect_timeout,
  http_timeout,
};

/// Reads an environment variable; nullopt when unset. Injected so tests need no real env.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
/// The process environment.
EnvLookup process_env();

/// One row of the settings table.
struct SettingSpec {
  Key key;
  const char* name;       // the context key and the `config view` row: "lock-timeout"
  const char* what;       // how messages name a value: "lock timeout"
  const char* flag;       // the global flag: "--lock-timeout"
  const char* env;        // the environment variable: "WFCTL_LOCK_TIMEOUT"
  const char* type_name;  // the flag's value in help: "DURATION"; "" for a flag that takes none (sets "true")
  const char* doc;        // one line for help, man page and `config view`
  /// The default value (may depend on HOME / XDG_*), or nullopt when there is none.
  std::optional<std::string> (*default_value)(const EnvLookup& env);
  /// What to give instead when `value` is not valid for this setting ("use one of: ..."),
  /// or empty when it is valid.
  std::string (*problem)(const std::string& value);
};

/// Every setting, in `config view` order.
const std::vector<SettingSpec>& settings_table();
/// The row of one setting.
const SettingSpec& spec(Key key);

/// Throws Error(usage, "<source>: invalid <what> '<value>'", hint: what to give) unless `value` is valid
/// for the setting; `source` names where the value came from ("--output", "WFCTL_OUTPUT").
void check_value(Key key, const std::string& value, const std::string& source);

/// One named context of the config file.
struct Context {
  std::string name;
  std::map<Key, std::string> values;
  /// handlers: the worker's command per job topic ("mri_cartesian_reco": "reco {input} {output}").
  std::map<std::string, std::string> handlers;

  /// The context's value for `key`, or nullopt when it sets none.
  std::optional<std::string> get(Key key) const;
};

/// The config file as read; `exists` is false when there is no file (an empty config).
struct ConfigFile {
  std::string path;
  bool exists = false;
  std::optional<std::string> current_context;
  std::vector<Context> contexts;

  /// The context with this name, or nullptr.
  const Context* find(const std::string& name) const;
  Context* find(const std::string& name);
};

/// Reads the config file; a missing file is an empty config. Throws Error(usage,
/// "<path>:<line>:<column>: <why>") for malformed YAML, an unknown key, a wrong type or an
/// empty value; the errno table's kind when the file cannot be read (a directory: usage).
ConfigFile load(const std::string& path);

/// Parses the config file's text (YAML); throws Error(usage, "<path>:<line>:<column>: <why>").
ConfigFile parse_config(std::string_view text, const std::string& path);
/// The config file's text, as save() writes it.
std::string render_config(const ConfigFile& config);

/// Writes the config file atomically (creating its directory); callers that change a file
/// others may change too use update() instead.
void save(const ConfigFile& config);

/// Changes the config file safely beside other processes doing the same: takes an exclusive
/// lock (path + ".lock"), re-reads the file, calls `change` on it and replaces the file
/// atomically. Nothing is written when `change` throws. Waiting for the lock ends with
/// Error(interrupted) on Ctrl-C.
void update(const std::string& path, const std::function<void(ConfigFile&)>& change);

/// Creates context `name` or changes it: each given value replaces the context's (every
/// value checked first, Error(usage) naming the flag-free setting name), and with
/// `make_current` it becomes the current context. Returns true when the context was created.
bool set_context(const std::string& path, const std::string& name, const std::map<Key, std::string>& values,
                 bool make_current);

/// Makes `name` the current context; throws Error(not_found) when the file has no such context.
void use_context(const std::string& path, const std::string& name);

/// Where a resolved value came from.
enum class Origin { flag, env, context, default_value };
const char* to_string(Origin o);

struct Setting {
  std::optional<std::string> value;  // absent: not set anywhere
  Origin origin = Origin::default_value;
  std::string source = "default";  // "--store", "WFCTL_STORE", "context lab (/path/config.yaml)"
};

/// Values given as flags; absent when the flag was not given.
struct Flags {
  std::optional<std::string> config, context;
  std::map<Key, std::optional<std::string>> values;  // one entry per row of the table

  Flags();
};

/// Every setting, resolved.
struct Settings {
  Setting config_path;  // flag > WFCTL_CONFIG > XDG_CONFIG_HOME/wfctl/config.yaml > ~/.config/...
  Setting context;      // flag > WFCTL_CONTEXT > current-context
  std::map<Key, Setting> values;  // flag > env > context > default, one per row of the table

  /// The resolved setting for `key`.
  const Setting& get(Key key) const { return values.at(key); }
};

/// The config path alone (needed before the file can be read).
Setting resolve_config_path(const Flags& flags, const EnvLookup& env);

/// Resolves every setting from flags, environment and the loaded file. Throws Error(usage)
/// when the selected context does not exist in the file. Values are not checked here: a
/// command checks the settings it uses (check_value), so that a bad default output format
/// cannot stop `config set-context` from fixing it.
Settings resolve(const Flags& flags, const EnvLookup& env, const ConfigFile& file);

/// The lock-timeout setting as a duration; throws Error(usage) naming its source when invalid.
std::chrono::milliseconds lock_timeout(const Settings& settings);

/// A duration setting (lock-timeout, kafka-timeout); throws Error(usage) naming its source.
std::chrono::milliseconds duration_setting(const Settings& settings, Key key);

/// A boolean setting (insecure): true, false, 1, 0, yes, no; throws Error(usage) naming its source.
bool bool_setting(const Settings& settings, Key key);

/// The bearer token of a remote store from the environment (WFCTL_TOKEN), or nullopt. It is no
/// row of the table: a token never goes on a command line or into the config file (use
/// token-file there), and `config view` shows only that one is set.
std::optional<std::string> env_token(const EnvLookup& env);

}  // namespace wfctl::config
