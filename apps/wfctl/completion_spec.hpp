#pragma once
// The command tree as shell completion sees it: commands, their options and positionals, and
// what each value completes to. Built by walking the CLI11 tree, so a new command or option
// is completed without touching the generators; only how a value completes (files, workflow
// ids, a fixed word list) comes from one table in completion_spec.cpp.
#include <CLI/CLI.hpp>
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wfctl::cli::completion {

/// The shells `wfctl completion` writes scripts for.
inline constexpr std::array<std::string_view, 3> k_shells = {"bash", "zsh", "fish"};

/// What the value of an option or positional completes to.
enum class ValueKind {
  none,         // anything: nothing is offered
  words,        // one of a fixed list
  file,         // a path
  directory,    // a directory
  workflow_id,  // an id from `wfctl list -o name`
  record_id,    // a record id from `wfctl result list -o name`
  job_id,       // a job id from `wfctl job list -o name`
  context,      // a name from `wfctl config get-contexts -o name`
};

struct Value {
  ValueKind kind = ValueKind::none;
  std::vector<std::string> words;  // for ValueKind::words
};

struct OptionSpec {
  std::vector<std::string> names;  // "--output", "-o": long names first
  std::string description;
  bool takes_value = false;
  Value value;
};

struct PositionalSpec {
  std::string name;  // "ID"
  std::string description;
  bool repeats = false;  // takes any number of values
  Value value;
};

struct CommandSpec {
  std::string path;  // "result upload"; empty for the root
  std::string name;  // the last word of the path ("wfctl" for the root)
  std::vector<std::string> aliases;
  std::string description;
  std::optional<std::size_t> parent;
  bool inherits = false;  // unknown options fall through to the parent (CLI11 fallthrough)
  std::vector<OptionSpec> options;  // its own, in declaration order
  std::vector<PositionalSpec> positionals;
  std::vector<std::size_t> children;  // visible subcommands, in declaration order
};

/// The visible commands of a CLI11 tree; commands[0] is the root, parents precede children.
struct CliSpec {
  std::vector<CommandSpec> commands;

  /// The command whose option `name` ("--store") is meant when it is given at `command`:
  /// the command itself or the nearest ancestor reached through fallthrough; nullopt when
  /// the name is unknown there.
  std::optional<std::size_t> resolve(std::size_t command, std::string_view name) const;
  /// Every command (`command` itself or a descendant) at which `name` means the option
  /// `name` of `command`, in tree order.
  std::vector<std::size_t> scope(std::size_t command, std::string_view name) const;
};

/// Walks the tree below `root`; subcommands and options in the hidden group ("") are left
/// out. Throws nothing beyond allocation failures.
CliSpec describe(const CLI::App& root);

/// A completion script for `shell` (one of k_shells); throws Error(usage) for another shell.
std::string script(const CliSpec& spec, std::string_view shell);

std::string bash_script(const CliSpec& spec);
std::string zsh_script(const CliSpec& spec);
std::string fish_script(const CliSpec& spec);

}  // namespace wfctl::cli::completion
