// completion bash|zsh|fish, and the hidden __commands listing used by tests.
#include <iostream>

#include "cli.hpp"
#include "completion_spec.hpp"

namespace wfctl::cli {

namespace {
void list_commands(const CLI::App& app, const std::string& prefix) {
  for (const auto* opt : app.get_options()) {
    for (const auto& n : opt->get_lnames()) std::cout << prefix << "--" << n << '\n';
    for (const auto& n : opt->get_snames()) std::cout << prefix << "-" << n << '\n';
  }
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_group().empty()) continue;  // hidden
    std::string path = prefix + sub->get_name();
    std::cout << path << '\n';
    list_commands(*sub, path + " ");
  }
}
}  // namespace

void add_completion_commands(CLI::App& app, AppContext& ctx) {
  auto* hidden = app.add_subcommand("__commands", "List every command and option");
  hidden->group("");
  hidden->callback([&app, &ctx] { ctx.action = [&app] { list_commands(app, ""); }; });

  auto shell = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("completion", "Print a completion script for bash, zsh or fish");
  cmd->add_option("SHELL", *shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember(
          std::vector<std::string>(completion::k_shells.begin(), completion::k_shells.end())));
  example(cmd, "source <(wfctl completion bash)\nwfctl completion zsh > \"${fpath[1]}/_wfctl\"");
  cmd->callback([shell, &app, &ctx] {
    ctx.action = [shell, &app] {
      std::cout << completion::script(completion::describe(app), *shell);
    };
  });
}

}  // namespace wfctl::cli
