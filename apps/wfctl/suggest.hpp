#pragma once
// "Did you mean": the hint for a word that is not a command where it was typed.
#include <CLI/CLI.hpp>
#include <string>

namespace wfctl::cli {

/// The hint for `word` typed where `group` expects a subcommand: the closest of its command
/// names ("did you mean 'list'?"), else where that command lives when it is one of another
/// group, else how to list the group's commands.
std::string suggestion_hint(const CLI::App& group, const std::string& word);

/// The hint for an unknown flag `word` ("--stor") given to `at`: the closest option name of
/// `at` or of the commands above it ("did you mean '--store'?"), else how to see them.
std::string flag_hint(const CLI::App& at, const std::string& word);

/// The path of a command named `word` (name or alias) anywhere in `root`'s tree, or empty.
std::string command_elsewhere(const CLI::App& root, const std::string& word);

}  // namespace wfctl::cli
