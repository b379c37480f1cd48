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
  std::vector<std::pair<std::string, const config::Setting*>> rows = {{"config", &s.config_path},
                                                                      {"context", &s.context}};
  for (const auto& row : config::settings_table()) rows.emplace_back(row.name, &s.get(row.key));
  // The token itself is never shown: only whether WFCTL_TOKEN holds one.
  const config::Setting token = config::env_token(config::process_env())
                                    ? config::Setting{std::string("<redacted>"), config::Origin::env, "WFCTL_TOKEN"}
                                    : config::Setting{std::nullopt, config::Origin::default_value, "default"};
  rows.emplace_back("token", &token);
  // The worker's handlers of the selected context, one row per topic.
  std::vector<config::Setting> handlers;
  std::vector<std::string> topics;
  if (s.context.value) {
    if (const config::Context* c = ctx.config_file().find(*s.context.value)) {
      for (const auto& [topic, command] : c->handlers) {
        topics.push_back(topic);
        handlers.push_back(config::Setting{command, config::Origin::context,
                                           "context " + c->name + " (" + ctx.config_file().path + ")"});
      }
    }
  }
  if (output::is_structured(out.format)) {
    Json j = Json::object();
    for (auto& [key, setting] : rows) j[key] = setting_json(*setting);
    Json h = Json::object();
    for (std::size_t i = 0; i < topics.size(); ++i) h[topics[i]] = setting_json(handlers[i]);
    j["handlers"] = std::move(h);
    return output::print_structured(std::cout, j, out.format);
  }
  output::Table t({"SETTING", "VALUE", "ORIGIN"});
  for (auto& [key, setting] : rows) t.add({key, setting->value ? *setting->value : "<none>", setting->source});
  for (std::size_t i = 0; i < topics.size(); ++i) t.add({"handler " + topics[i], *handlers[i].value, handlers[i].source});
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
      for (const auto& row : config::settings_table()) {
        auto v = c.get(row.key);
        j[row.name] = v ? Json(*v) : Json(nullptr);
      }
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
    t.add({current && *current == c.name ? "*" : "", c.name, c.get(config::Key::store).value_or(""),
           c.get(config::Key::output).value_or("")});
  t.print(std::cout, out.no_headers);
}

void add_view(CLI::App* config, AppContext& ctx) {
  auto* cmd = config->add_subcommand("view", "Show every resolved setting and where it came from");
  example(cmd, "wfctl config view -o yaml");
  cmd->callback([&ctx] { ctx.action = [&ctx] { view(ctx); }; });
}

void add_get_contexts(CLI::App* config, AppContext& ctx) {
  auto* cmd = config->add_subcommand("get-contexts", "List the contexts of the config file");
  example(cmd, "wfctl config get-contexts -o name");
  cmd->callback([&ctx] { ctx.action = [&ctx] { get_contexts(ctx); }; });
}

void add_current_context(CLI::App* config, AppContext& ctx) {
  auto* cmd = config->add_subcommand("current-context", "Print the context in use");
  example(cmd, "wfctl config current-context");
  cmd->callback([&ctx] {
    ctx.action = [&ctx] {
      auto current = ctx.settings().context.value;
      if (!current) throw Error(ErrorKind::not_found, "no current context is set", "use 'wfctl config use-context NAME'");
      std::cout << *current << '\n';
    };
  });
}

void add_use_context(CLI::App* config, AppContext& ctx) {
  auto name = std::make_shared<std::string>();
  auto* cmd = config->add_subcommand("use-context", "Make NAME the current context");
  cmd->add_option("NAME", *name, "Context name")->required();
  example(cmd, "wfctl config use-context lab");
  cmd->callback([name, &ctx] {
    ctx.action = [name, &ctx] {
      config::use_context(ctx.config_path(), *name);
      std::cerr << "switched to context \"" << *name << "\"\n";
    };
  });
}

void add_set_context(CLI::App* config, AppContext& ctx) {
  struct Opts {
    std::string name;
    std::map<config::Key, std::optional<std::string>> values;
    bool use = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = config->add_subcommand("set-context", "Create or change a context");
  cmd->add_option("NAME", o->name, "Context name")->required();
  for (const auto& row : config::settings_table()) {
    std::string help = std::string("The context's ") + row.name + ": " + row.doc;
    if (!*row.type_name) {  // a flag: given, it sets "true"
      auto key = row.key;
      cmd->add_flag_callback(row.flag, [o, key] { o->values[key] = "true"; }, help);
      continue;
    }
    cmd->add_option(row.flag, o->values[row.key], help)->type_name(row.type_name);
  }
  cmd->add_flag("--use", o->use, "Also make it the current context");
  example(cmd, "wfctl config set-context lab --store ~/lab-store --output wide --use");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      std::map<config::Key, std::string> values;
      for (const auto& [key, value] : o->values)
        if (value) values[key] = *value;
      bool created = config::set_context(ctx.config_path(), o->name, values, o->use);
      std::cerr << "context \"" << o->name << "\" " << (created ? "created" : "modified") << '\n';
    };
  });
}

}  // namespace

void add_config_commands(CLI::App& app, AppContext& ctx) {
  // Hidden: the settings table, for the tests that keep the man page in step with it.
  auto* table = app.add_subcommand("__settings", "List the settings table");
  table->group("");
  table->callback([&ctx] {
    ctx.action = [] {
      for (const auto& row : config::settings_table()) std::cout << row.name << ' ' << row.flag << ' ' << row.env << '\n';
    };
  });

  auto* config = app.add_subcommand("config", "Show and edit the config file's contexts");
  require_one_subcommand(config, ctx);
  example(config, "wfctl config set-context lab --store ~/lab-store --use\nwfctl config view");
  add_view(config, ctx);
  add_get_contexts(config, ctx);
  add_current_context(config, ctx);
  add_use_context(config, ctx);
  add_set_context(config, ctx);
}

}  // namespace wfctl::cli
