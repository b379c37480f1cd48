#pragma once
// What every command file shares: the global flags, the settings resolved from them, the
// store opened on first use, and the action chosen by parsing.
#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include <wfctl/config/config.hpp>
#include <wfctl/output/render.hpp>
#include <wfctl/error.hpp>
#include <wfctl/jobs/handler.hpp>
#include <wfctl/jobs/transport.hpp>
#include <wfctl/store/store.hpp>
#include <wfctl/util/cancel.hpp>

namespace wfctl::cli {

class AppContext {
 public:
  config::Flags flags;
  bool no_headers = false;
  bool show_version = false;     // --version
  std::function<void()> action;  // set by the chosen subcommand, run after parsing

  /// The config file's path (without reading it: commands that change the file re-read it
  /// under its lock, and may be repairing a broken one).
  std::string config_path();
  /// The config file (loaded once). Throws Error(usage) when malformed.
  const config::ConfigFile& config_file();
  /// Every setting resolved: flag > env > context > default.
  const config::Settings& settings();
  /// The store named by the settings, opened on first use.
  Store& store();
  /// The job transport named by the settings (local or kafka), opened on first use.
  Transport& transport();
  /// The handlers of the selected context (config file "handlers:").
  std::map<std::string, Handler> handlers();
  /// Makes the store opened next ignore Ctrl-C and SIGTERM (the worker, which finishes or
  /// gives back its jobs on a stop request, and must still write to the store to do so).
  void store_survives_signals() { m_store_survives_signals = true; }
  /// Output options: the resolved -o format and --no-headers.
  output::Options output();
  /// Output options from the -o flag and WFCTL_OUTPUT only, never reading the config file
  /// (for `wfctl version`, which must work with a broken one).
  output::Options output_without_config();
  /// A hint for the end of a command that read a store which does not exist, or empty.
  std::string missing_store_hint() const;
  /// The cancellation token of this command: cancelled by Ctrl-C or SIGTERM.
  const Cancel& cancel() const { return m_cancel; }
  /// Names the flag that helps with errors of `kind` in this command ("use --force to
  /// replace it"): the library's messages speak of fields, the command knows its flags.
  void hint(ErrorKind kind, std::string text) { m_hints[kind] = std::move(text); }
  /// The same for errors that carry an item of this type ("value_error.dicom").
  void hint(const std::string& item_type, std::string text) { m_item_hints[item_type] = std::move(text); }
  /// The hint line for `e`: its own, the command's for its kind, or one naming the flag of a
  /// missing meta field.
  std::string hint_for(const Error& e) const;

 private:
  Cancel m_cancel = Cancel::on_signal();
  std::map<ErrorKind, std::string> m_hints;
  std::map<std::string, std::string> m_item_hints;
  std::optional<config::ConfigFile> m_config;
  std::optional<config::Settings> m_settings;
  std::unique_ptr<Store> m_store;
  std::unique_ptr<Transport> m_transport;
  bool m_store_survives_signals = false;
};

/// Sets up the root command: global options (from the settings table) accepted in any
/// position, a command word accepted only where it belongs, and help that lists the global
/// options and an example under every command.
void configure_root(CLI::App& app, AppContext& ctx);

/// Makes `app` (and the subcommands added after) print help with the global options and the
/// command's example at the end.
void use_help_formatter(CLI::App& app);

void add_workflow_commands(CLI::App& app, AppContext& ctx);
void add_config_commands(CLI::App& app, AppContext& ctx);
void add_result_commands(CLI::App& app, AppContext& ctx);
void add_completion_commands(CLI::App& app, AppContext& ctx);
void add_version_command(CLI::App& app, AppContext& ctx);
void add_help_command(CLI::App& app, AppContext& ctx);
void add_job_commands(CLI::App& app, AppContext& ctx);
void add_worker_command(CLI::App& app, AppContext& ctx);
void add_serve_command(CLI::App& app, AppContext& ctx);

/// Gives `cmd` the example its --help shows (one or more lines of "wfctl ..." commands).
void example(CLI::App* cmd, const std::string& lines);

/// Makes a command group (result, config) fail with a usage error naming its subcommands
/// when none is given.
void require_one_subcommand(CLI::App* group, AppContext& ctx);

/// The duration a flag's value names ("30s", "500ms"); throws Error(usage, "invalid FLAG
/// 'TEXT'") with a hint otherwise.
std::chrono::milliseconds duration_flag(const std::string& flag, const std::string& text);

/// A whole number of at least 1 ("must be a positive whole number" otherwise).
CLI::Validator positive();
/// A whole number of at least 0.
CLI::Validator non_negative();

/// Prints "wfctl: error: <message>" and, when there is one, "hint: <hint>" to stderr.
void print_error(const std::string& message, const std::string& hint);

/// The exit status for a parse error, after printing it: help and version go to stdout
/// (exit 0); anything else is one error line naming the command path, with a hint.
/// `args` is the command line as parsed, to tell which command a stray word was typed for.
int report_parse_error(CLI::App& app, const CLI::ParseError& e, const std::vector<std::string>& args);

/// The command line with "-X=VALUE" split into "-X" "VALUE" (so that -o=json works like
/// -o json), up to a "--".
std::vector<std::string> split_short_equals(int argc, char** argv);

/// Writes `text` to standard output at once (after what std::cout holds); throws
/// Error(unavailable, "cannot write to standard output: <why>") when it cannot.
void write_stdout_now(const std::string& text);

/// A before-commit hook for a write (Store::BeforeCommit): renders what the write did with
/// `render(out, value)` and writes it to standard output at once, so that a print that fails
/// stores nothing.
template <typename T, typename Render>
std::function<void(const T&)> print_before_commit(Render render) {
  return [render](const T& value) {
    std::ostringstream text;
    render(text, value);
    write_stdout_now(text.str());
  };
}

/// After a successful parse: prints the version and returns 0 for `wfctl --version`; throws
/// Error(usage) when --version was given after a command that has none; else nullopt.
std::optional<int> handle_version_flag(const CLI::App& app, const AppContext& ctx);

/// "wfctl result upload": the command path of `app`.
std::string path_of(const CLI::App& app);

}  // namespace wfctl::cli
