#pragma once
// Configuration: a YAML file of named contexts, and the one place where every setting is
// resolved with the precedence flag > environment (WFCTL_*) > context > default.
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace wfctl::config {

/// One named context of the config file.
struct Context {
  std::string name;
  std::optional<std::string> store, output, token_file;
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
/// "<path>:<line>:<column>: <why>") for malformed YAML, an unknown key or a wrong type.
ConfigFile load(const std::string& path);

/// Writes the config file atomically (creating its directory).
void save(const ConfigFile& config);

/// Where a resolved value came from.
enum class Origin { flag, env, context, default_value };
const char* to_string(Origin o);

struct Setting {
  std::optional<std::string> value;  // absent: not set anywhere
  Origin origin = Origin::default_value;
  std::string source = "default";  // "--store", "WFCTL_STORE", "context lab (/path/config.yaml)"
};

/// Values given as flags; empty when the flag was not given.
struct Flags {
  std::optional<std::string> config, context, store, output, token_file;
};

/// Reads an environment variable; nullopt when unset. Injected so tests need no real env.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
/// The process environment.
EnvLookup process_env();

/// Every setting, resolved.
struct Settings {
  Setting config_path;  // flag > WFCTL_CONFIG > XDG_CONFIG_HOME/wfctl/config.yaml > ~/.config/...
  Setting context;      // flag > WFCTL_CONTEXT > current-context
  Setting store;        // flag > WFCTL_STORE > context > XDG_DATA_HOME/wfctl or ~/.local/share/wfctl
  Setting output;       // flag > WFCTL_OUTPUT > context > "table"
  Setting token_file;   // flag > WFCTL_TOKEN_FILE > context > none
};

/// The config path alone (needed before the file can be read).
Setting resolve_config_path(const Flags& flags, const EnvLookup& env);

/// Resolves every setting from flags, environment and the loaded file. Throws Error(usage)
/// when the selected context does not exist in the file.
Settings resolve(const Flags& flags, const EnvLookup& env, const ConfigFile& file);

}  // namespace wfctl::config
