// config view | get-contexts | current-context | use-context | set-context
#include <iostream>
#include <wfctl/error.hpp>

#include "cli.hpp"

namespace wfctl::cli {

namespace {

Json setting_json(const config::Setting& s) {
  Json j = Json::object();
  j["value"] = s.value ? Json(*s.value) : Json(nullptr);
  j["origin"] = config::to_string(s.origin);
  j["source"] = s.source;
  return j;
}

void view(AppContext& ctx) {
  auto out = ctx.output();
  const auto& s = ctx.settings();
  std::pair<const char*, const config::Setting*> rows[] = {
      {"config", &s.config_path}, {"context", &s.context},       {"store", &s.store},
      {"output", &s.output},      {"token-file", &s.token_file},
  };
  if (output::is_structured(out.format)) {
    Json j = Json::object();
    for (auto& [key, setting] : rows) j[key] = setting_json(*setting);
    return output::print_structured(std::cout, j, out.format);
  }
  output::Table t({"SETTING", "VALUE", "ORIGIN"});
  for (auto& [key, setting] : rows)
    t.add({key, setting->value ? *setting->value : "<none>", setting->source});
  t.print(std::cout, out.no_headers);
}

void get_contexts(AppContext& ctx) {
  auto out = ctx.output();
  const auto& file = ctx.config_file();
  auto current = ctx.settings().context.value;
  if (output::is_structured(out.format)) {
    Json arr = Json::array();
    for (const auto& c : file.contexts) {
      Json j = Json::object();
      j["name"] = c.name;
      j["current"] = current && *current == c.name;
      j["store"] = c.store ? Json(*c.store) : Json(nullptr);
      j["output"] = c.output ? Json(*c.output) : Json(nullptr);
      j["token-file"] = c.token_file ? Json(*c.token_file) : Json(nullptr);
      arr.push_back(j);
    }
    return output::print_structured(std::cout, arr, out.format);
  }
  if (out.format == output::Format::name) {
    for (const auto& c : file.contexts) std::cout << c.name << '\n';
    return;
  }
  if (file.contexts.empty()) return;
  output::Table t({"CURRENT", "NAME", "STORE", "OUTPUT"});
  for (const auto& c : file.contexts)
    t.add({current && *current == c.name ? "*" : "", c.name, c.store.value_or(""), c.output.value_or("")});
  t.print(std::cout, out.no_headers);
}

}  // namespace

void add_config_commands(CLI::App& app, AppContext& ctx) {
  auto* config = app.add_subcommand("config", "Show and edit the config file's contexts");
  require_one_subcommand(config, ctx);

  config->add_subcommand("view", "Show every resolved setting and where it came from")->callback([&ctx] {
    ctx.action = [&ctx] { view(ctx); };
  });
  config->add_subcommand("get-contexts", "List the contexts of the config file")->callback([&ctx] {
    ctx.action = [&ctx] { get_contexts(ctx); };
  });
  config->add_subcommand("current-context", "Print the context in use")->callback([&ctx] {
    ctx.action = [&ctx] {
      auto current = ctx.settings().context.value;
      if (!current) throw Error(ErrorKind::not_found, "no current context is set", "use 'wfctl config use-context NAME'");
      std::cout << *current << '\n';
    };
  });

  auto use_name = std::make_shared<std::string>();
  auto* use = config->add_subcommand("use-context", "Make NAME the current context");
  use->add_option("NAME", *use_name, "Context name")->required();
  use->callback([use_name, &ctx] {
    ctx.action = [use_name, &ctx] {
      auto file = ctx.config_file();
      if (!file.find(*use_name))
        throw Error(ErrorKind::not_found, "context '" + *use_name + "' not found in " + file.path,
                    "create it with 'wfctl config set-context " + *use_name + " --store PATH'");
      file.current_context = *use_name;
      config::save(file);
      std::cerr << "switched to context \"" << *use_name << "\"\n";
    };
  });

  struct SetOpts {
    std::string name;
    std::optional<std::string> store, output, token_file;
    bool use = false;
  };
  auto so = std::make_shared<SetOpts>();
  auto* set = config->add_subcommand("set-context", "Create or change a context");
  set->add_option("NAME", so->name, "Context name")->required();
  set->add_option("--store", so->store, "Store of the context: a directory, sqlite:PATH or http(s)://URL");
  set->add_option("--output", so->output, "Default output format of the context");
  set->add_option("--token-file", so->token_file, "File holding a bearer token for a remote store");
  set->add_flag("--use", so->use, "Also make it the current context");
  set->callback([so, &ctx] {
    ctx.action = [so, &ctx] {
      if (so->output) output::parse_format(*so->output);
      if (so->name.empty()) throw Error(ErrorKind::usage, "context name must not be empty");
      auto file = ctx.config_file();
      auto* c = file.find(so->name);
      bool created = !c;
      if (!c) {
        file.contexts.push_back(config::Context{so->name, {}, {}, {}});
        c = &file.contexts.back();
      }
      if (so->store) c->store = *so->store;
      if (so->output) c->output = *so->output;
      if (so->token_file) c->token_file = *so->token_file;
      if (so->use) file.current_context = so->name;
      config::save(file);
      std::cerr << "context \"" << so->name << "\" " << (created ? "created" : "modified") << '\n';
    };
  });
}

}  // namespace wfctl::cli
