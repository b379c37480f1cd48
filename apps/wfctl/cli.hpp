#pragma once
// What every command file shares: the global flags, the settings resolved from them, the
// store opened on first use, and the action chosen by parsing.
#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <optional>

#include <wfctl/config/config.hpp>
#include <wfctl/output/render.hpp>
#include <wfctl/store/store.hpp>

namespace wfctl::cli {

class AppContext {
 public:
  config::Flags flags;
  bool no_headers = false;
  std::function<void()> action;  // set by the chosen subcommand, run after parsing

  /// The config file (loaded once). Throws Error(usage) when malformed.
  const config::ConfigFile& config_file();
  /// Every setting resolved: flag > env > context > default.
  const config::Settings& settings();
  /// The store named by the settings, opened on first use.
  Store& store();
  /// Output options: the resolved -o format and --no-headers.
  output::Options output();

 private:
  std::optional<config::ConfigFile> m_config;
  std::optional<config::Settings> m_settings;
  std::unique_ptr<Store> m_store;
};

void add_workflow_commands(CLI::App& app, AppContext& ctx);
void add_config_commands(CLI::App& app, AppContext& ctx);
void add_result_commands(CLI::App& app, AppContext& ctx);
void add_completion_commands(CLI::App& app, AppContext& ctx);
void add_version_command(CLI::App& app, AppContext& ctx);

/// Makes a command group (result, config) fail with a usage error naming its subcommands
/// when none is given.
void require_one_subcommand(CLI::App* group, AppContext& ctx);

/// `-f FILE|-`: an existing regular file or "-" for stdin, with a one-line message otherwise.
CLI::Validator file_or_stdin();

/// A whole number of at least 1 ("must be a positive whole number" otherwise).
CLI::Validator positive();

}  // namespace wfctl::cli
