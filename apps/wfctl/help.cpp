// Help: every command's --help ends with the global options and an example, and
// `wfctl help [COMMAND...]` prints the same text.
#include <iostream>
#include <wfctl/error.hpp>

#include "cli.hpp"
#include "suggest.hpp"

namespace wfctl::cli {

namespace {

class Formatter : public CLI::Formatter {
 public:
  std::string make_footer(const CLI::App* app) const override {
    std::string out;
    if (const CLI::App* root = root_of(app); root != app) {
      std::vector<const CLI::Option*> globals;
      for (const CLI::Option* opt : root->get_options())
        if (opt->get_name() != "--help" && opt->get_name() != "--version") globals.push_back(opt);
      out += make_group("Global Options", false, globals).substr(1);  // make_help puts a blank line first
    }
    if (!app->get_footer().empty()) out += (out.empty() ? "" : "\n") + app->get_footer();
    return out;
  }

 private:
  static const CLI::App* root_of(const CLI::App* app) {
    while (app->get_parent()) app = app->get_parent();
    return app;
  }
};

}  // namespace

void use_help_formatter(CLI::App& app) { app.formatter(std::make_shared<Formatter>()); }

void add_help_command(CLI::App& app, AppContext& ctx) {
  auto words = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("help", "Show the help of a command");
  cmd->add_option("COMMAND", *words, "Command path, e.g. result upload");
  example(cmd, "wfctl help result upload");
  cmd->callback([words, &app, &ctx] {
    ctx.action = [words, &app] {
      CLI::App* current = &app;
      for (const auto& w : *words) {
        CLI::App* next = nullptr;
        for (CLI::App* sub : current->get_subcommands([](CLI::App*) { return true; }))
          if (!sub->get_group().empty() && sub->check_name(w)) next = sub;
        if (!next) {
          bool leaf = true;
          for (const CLI::App* sub : current->get_subcommands([](const CLI::App*) { return true; }))
            if (!sub->get_group().empty()) leaf = false;
          if (leaf)
            throw Error(ErrorKind::usage, "'" + path_of(*current) + "' has no subcommand '" + w + "'",
                        "run 'wfctl help " + path_of(*current).substr(6) + "'");
          auto hint = suggestion_hint(*current, w);
          throw Error(ErrorKind::usage, "unknown command '" + w + "' for '" + path_of(*current) + "'", hint);
        }
        current = next;
      }
      std::string name = current->get_parent() ? path_of(*current) : current->get_name();
      std::cout << current->get_formatter()->make_help(current, name, CLI::AppFormatMode::Normal);
    };
  });
}

}  // namespace wfctl::cli
