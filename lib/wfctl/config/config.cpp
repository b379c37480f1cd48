#include <wfctl/config/config.hpp>

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <wfctl/error.hpp>
#include <wfctl/util/fs.hpp>

namespace wfctl::config {

namespace {

Error config_error(const std::string& path, const YAML::Mark& mark, const std::string& why) {
  return Error(ErrorKind::usage, fmt::format("{}:{}:{}: {}", path, mark.line + 1, mark.column + 1, why));
}

std::string scalar(const YAML::Node& n, const std::string& path, const std::string& key) {
  if (!n.IsScalar()) throw config_error(path, n.Mark(), fmt::format("'{}' must be a string", key));
  return n.Scalar();
}

Context parse_context(const std::string& name, const YAML::Node& node, const std::string& path) {
  Context c{name, {}, {}, {}};
  if (node.IsNull()) return c;
  if (!node.IsMap()) throw config_error(path, node.Mark(), fmt::format("context '{}' must be a mapping", name));
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    if (key == "store") c.store = scalar(kv.second, path, key);
    else if (key == "output") c.output = scalar(kv.second, path, key);
    else if (key == "token-file") c.token_file = scalar(kv.second, path, key);
    else
      throw config_error(path, kv.first.Mark(),
                         fmt::format("unknown key '{}' in context '{}' (known: store, output, token-file)", key, name));
  }
  return c;
}

Setting from_env(const EnvLookup& env, const char* name) {
  auto v = env(name);
  if (v && !v->empty()) return Setting{v, Origin::env, name};
  return Setting{std::nullopt, Origin::default_value, "default"};
}

std::string home_dir(const EnvLookup& env) {
  auto home = env("HOME");
  if (!home || home->empty()) throw Error(ErrorKind::usage, "HOME is not set", "set HOME or give --store and --config");
  return *home;
}

}  // namespace

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
  std::ifstream in(path);
  if (!in) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec))
      throw Error(ErrorKind::usage, fmt::format("cannot read config {}", path));
    return cfg;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  cfg.exists = true;
  YAML::Node root;
  try {
    root = YAML::Load(ss.str());
  } catch (const YAML::Exception& e) {
    throw config_error(path, e.mark, "invalid YAML: " + e.msg);
  }
  if (root.IsNull()) return cfg;
  if (!root.IsMap()) throw config_error(path, root.Mark(), "the config must be a mapping");
  for (const auto& kv : root) {
    std::string key = kv.first.Scalar();
    if (key == "current-context") {
      if (!kv.second.IsNull()) cfg.current_context = scalar(kv.second, path, key);
    } else if (key == "contexts") {
      if (kv.second.IsNull()) continue;
      if (!kv.second.IsMap())
        throw config_error(path, kv.second.Mark(), "'contexts' must be a mapping of name to context");
      for (const auto& ctx : kv.second)
        cfg.contexts.push_back(parse_context(ctx.first.Scalar(), ctx.second, path));
    } else {
      throw config_error(path, kv.first.Mark(),
                         fmt::format("unknown key '{}' (known: current-context, contexts)", key));
    }
  }
  return cfg;
}

void save(const ConfigFile& cfg) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  if (cfg.current_context) out << YAML::Key << "current-context" << YAML::Value << *cfg.current_context;
  out << YAML::Key << "contexts" << YAML::Value << YAML::BeginMap;
  for (const auto& c : cfg.contexts) {
    out << YAML::Key << c.name << YAML::Value << YAML::BeginMap;
    if (c.store) out << YAML::Key << "store" << YAML::Value << *c.store;
    if (c.output) out << YAML::Key << "output" << YAML::Value << *c.output;
    if (c.token_file) out << YAML::Key << "token-file" << YAML::Value << *c.token_file;
    out << YAML::EndMap;
  }
  out << YAML::EndMap << YAML::EndMap;
  std::filesystem::path p(cfg.path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  write_file_atomic(p, std::string(out.c_str()) + "\n");
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

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

Setting resolve_config_path(const Flags& flags, const EnvLookup& env) {
  if (flags.config) return Setting{flags.config, Origin::flag, "--config"};
  if (auto s = from_env(env, "WFCTL_CONFIG"); s.value) return s;
  auto xdg = env("XDG_CONFIG_HOME");
  std::string base = (xdg && !xdg->empty()) ? *xdg : home_dir(env) + "/.config";
  return Setting{base + "/wfctl/config.yaml", Origin::default_value, "default"};
}

Settings resolve(const Flags& flags, const EnvLookup& env, const ConfigFile& file) {
  Settings s;
  s.config_path = resolve_config_path(flags, env);

  if (flags.context) s.context = Setting{flags.context, Origin::flag, "--context"};
  else if (auto e = from_env(env, "WFCTL_CONTEXT"); e.value) s.context = e;
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
  std::string ctx_source = ctx ? fmt::format("context {} ({})", ctx->name, file.path) : "";

  auto pick = [&](const std::optional<std::string>& flag, const char* flag_name, const char* env_name,
                  std::optional<std::string> Context::*member) {
    if (flag) return Setting{flag, Origin::flag, flag_name};
    if (auto e = from_env(env, env_name); e.value) return e;
    if (ctx && ctx->*member) return Setting{ctx->*member, Origin::context, ctx_source};
    return Setting{std::nullopt, Origin::default_value, "default"};
  };

  s.store = pick(flags.store, "--store", "WFCTL_STORE", &Context::store);
  if (!s.store.value) {
    auto xdg = env("XDG_DATA_HOME");
    std::string base = (xdg && !xdg->empty()) ? *xdg : home_dir(env) + "/.local/share";
    s.store.value = base + "/wfctl";
  }
  s.output = pick(flags.output, "--output", "WFCTL_OUTPUT", &Context::output);
  if (!s.output.value) s.output.value = "table";
  s.token_file = pick(flags.token_file, "--token-file", "WFCTL_TOKEN_FILE", &Context::token_file);
  return s;
}

}  // namespace wfctl::config
