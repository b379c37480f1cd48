#include "completion_spec.hpp"

#include <algorithm>
#include <wfctl/error.hpp>
#include <wfctl/model/job.hpp>
#include <wfctl/store/store.hpp>

namespace wfctl::cli::completion {

namespace {

// How values complete, keyed by option or positional name; `command` narrows an entry to
// one command path (empty: any). The first matching entry wins, so narrow entries go first.
// Anything not listed here completes to nothing, except a value whose type name is FILE.
struct Hint {
  std::string_view command;
  std::string_view name;  // "--sort-by" or a positional's name "ID"
  ValueKind kind;
  std::vector<std::string> words = {};
};

const std::vector<Hint>& hints() {
  static const std::vector<Hint> table = {
      {"result export", "--to", ValueKind::directory},
      {"result info", "TARGET", ValueKind::file},
      {"config use-context", "NAME", ValueKind::context},
      {"config set-context", "NAME", ValueKind::context},
      {"completion", "SHELL", ValueKind::words, {k_shells.begin(), k_shells.end()}},
      {"job get", "ID", ValueKind::job_id},
      {"job wait", "ID", ValueKind::job_id},
      {"job cancel", "ID", ValueKind::job_id},
      {"job retry", "ID", ValueKind::job_id},
      {"job logs", "ID", ValueKind::job_id},
      {"job list", "--status", ValueKind::words, {job_status_names().begin(), job_status_names().end()}},
      {"job list", "--record", ValueKind::record_id},
      {"", "--transport", ValueKind::words, {"local", "kafka"}},
      {"", "--kafka-config", ValueKind::file},
      {"", "--output", ValueKind::words, {"table", "wide", "json", "yaml", "name"}},
      {"", "--sort-by", ValueKind::words, {sort_key_names().begin(), sort_key_names().end()}},
      {"", "--context", ValueKind::context},
      {"", "--store", ValueKind::directory},
      {"", "--filename", ValueKind::file},
      {"", "--config", ValueKind::file},
      {"", "--token-file", ValueKind::file},
      {"", "--png", ValueKind::file},
      {"", "--output-file", ValueKind::file},
      {"", "ID", ValueKind::workflow_id},
      {"", "RECORD", ValueKind::record_id},
      {"", "FILE", ValueKind::file},
  };
  return table;
}

Value value_for(const std::string& path, const std::string& name, const std::string& type_name) {
  for (const auto& h : hints()) {
    if ((h.command.empty() || h.command == path) && h.name == name) return Value{h.kind, h.words};
  }
  if (type_name == "FILE") return Value{ValueKind::file, {}};
  return {};
}

bool hidden(const CLI::App* app) { return app->get_group().empty(); }

void walk(const CLI::App& app, std::optional<std::size_t> parent, CliSpec& spec) {
  const std::size_t index = spec.commands.size();
  spec.commands.emplace_back();
  {
    auto& cmd = spec.commands.back();
    cmd.name = parent ? app.get_name() : "wfctl";
    if (parent) {
      const auto& p = spec.commands[*parent].path;
      cmd.path = p.empty() ? app.get_name() : p + " " + app.get_name();
    }
    cmd.aliases = app.get_aliases();
    cmd.description = app.get_description();
    cmd.parent = parent;
    cmd.inherits = parent && app.get_fallthrough();
    for (const auto* opt : app.get_options()) {
      if (opt->get_group().empty()) continue;  // hidden
      const bool takes_value = opt->get_items_expected_max() > 0;
      if (opt->nonpositional()) {
        OptionSpec o;
        for (const auto& n : opt->get_lnames()) o.names.push_back("--" + n);
        for (const auto& n : opt->get_snames()) o.names.push_back("-" + n);
        o.description = opt->get_description();
        o.takes_value = takes_value;
        if (takes_value) o.value = value_for(cmd.path, o.names.front(), opt->get_type_name());
        cmd.options.push_back(std::move(o));
      } else {
        PositionalSpec p;
        p.name = opt->get_name(true);
        p.description = opt->get_description();
        p.repeats = opt->get_items_expected_max() > 1;
        p.value = value_for(cmd.path, p.name, opt->get_type_name());
        cmd.positionals.push_back(std::move(p));
      }
    }
  }
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (hidden(sub)) continue;
    spec.commands[index].children.push_back(spec.commands.size());
    walk(*sub, index, spec);
  }
}

bool defines(const CommandSpec& cmd, std::string_view name) {
  return std::any_of(cmd.options.begin(), cmd.options.end(), [&](const OptionSpec& o) {
    return std::find(o.names.begin(), o.names.end(), name) != o.names.end();
  });
}

}  // namespace

std::optional<std::size_t> CliSpec::resolve(std::size_t command, std::string_view name) const {
  for (std::optional<std::size_t> at = command; at;) {
    const auto& cmd = commands[*at];
    if (defines(cmd, name)) return at;
    if (!cmd.inherits) return std::nullopt;
    at = cmd.parent;
  }
  return std::nullopt;
}

std::vector<std::size_t> CliSpec::scope(std::size_t command, std::string_view name) const {
  std::vector<std::size_t> out;
  std::vector<std::size_t> todo = {command};
  while (!todo.empty()) {
    auto at = todo.back();
    todo.pop_back();
    if (resolve(at, name) != command) continue;  // shadowed, or not inherited: nor below
    out.push_back(at);
    const auto& children = commands[at].children;
    todo.insert(todo.end(), children.rbegin(), children.rend());
  }
  return out;
}

CliSpec describe(const CLI::App& root) {
  CliSpec spec;
  walk(root, std::nullopt, spec);
  return spec;
}

std::string script(const CliSpec& spec, std::string_view shell) {
  if (shell == "bash") return bash_script(spec);
  if (shell == "zsh") return zsh_script(spec);
  if (shell == "fish") return fish_script(spec);
  throw Error(ErrorKind::usage,
              "unknown shell '" + std::string(shell) + "' (known: bash, zsh, fish)");
}

}  // namespace wfctl::cli::completion
