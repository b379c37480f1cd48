// wfctl: parse the command line, run the chosen action, map errors to exit codes.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fmt/format.h>
#include <iostream>
#include <wfctl/error.hpp>
#include <wfctl/util/signals.hpp>
#include <wfctl/version.hpp>

#include "cli.hpp"

namespace {

void print_error(const std::string& message, const std::string& hint) {
  std::cerr << "wfctl: error: " << message << '\n';
  if (!hint.empty()) std::cerr << "hint: " << hint << '\n';
}

// CLI11's messages are sentences ending in a period or a newline; keep the first line.
std::string first_line(std::string s) {
  auto nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  while (!s.empty() && (s.back() == '.' || s.back() == ' ')) s.pop_back();
  return s;
}

// "wfctl result upload": the subcommands chosen so far, for a hint that names the right help.
std::string command_path(const CLI::App& app) {
  std::string path = "wfctl";
  const CLI::App* current = &app;
  for (;;) {
    auto chosen = current->get_subcommands();
    if (chosen.empty()) return path;
    current = chosen.front();
    path += " " + current->get_name();
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Started with stdin, stdout or stderr closed (cron, CI), the next file we open would take
  // that number and a later print would write into it: hold those numbers with /dev/null.
  for (int fd = 0; fd < 3; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
  }
  std::ios::sync_with_stdio(false);
  wfctl::install_interrupt_handler();
  wfctl::cli::AppContext ctx;
  CLI::App app{"wfctl: manage MRI reconstruction workflows and their results", "wfctl"};
  app.fallthrough();  // before subcommands, so global flags work in any position
  app.set_version_flag("--version", std::string("wfctl ") + wfctl::k_version);
  app.add_option("--store", ctx.flags.store, "Store: a directory, sqlite:PATH, or http(s)://URL")->type_name("URL");
  app.add_option("--context", ctx.flags.context, "Config context to use")->type_name("NAME");
  app.add_option("--config", ctx.flags.config, "Config file (default $XDG_CONFIG_HOME/wfctl/config.yaml)")
      ->type_name("FILE");
  app.add_option("-o,--output", ctx.flags.output, "Output format: table, wide, json, yaml, name")
      ->type_name("FORMAT");
  app.add_flag("--no-headers", ctx.no_headers, "Omit the header row of tables");

  wfctl::cli::add_workflow_commands(app, ctx);
  wfctl::cli::add_result_commands(app, ctx);
  wfctl::cli::add_config_commands(app, ctx);
  wfctl::cli::add_completion_commands(app, ctx);
  wfctl::cli::add_version_command(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError& e) {
    auto extras = app.remaining();
    std::string what = extras.empty() ? first_line(e.what()) : "unknown command or argument '" + extras.front() + "'";
    print_error(what, "run '" + command_path(app) + " --help' for usage");
    return 2;
  } catch (const CLI::ParseError& e) {
    print_error(first_line(e.what()), "run '" + command_path(app) + " --help' for usage");
    return 2;
  } catch (const wfctl::Error& e) {
    print_error(e.what(), e.hint());
    return wfctl::exit_code_for(e.kind());
  }

  try {
    if (!ctx.action) throw wfctl::Error(wfctl::ErrorKind::usage, "a command is required", "run 'wfctl --help' for the commands");
    ctx.action();
    std::cout.flush();
    if (!std::cout) throw wfctl::Error(wfctl::ErrorKind::unavailable, "cannot write to standard output");
    return 0;
  } catch (const wfctl::Error& e) {
    std::cout.flush();
    print_error(e.what(), e.hint());
    return wfctl::exit_code_for(e.kind());
  } catch (const std::exception& e) {
    std::cout.flush();
    print_error(std::string("internal error: ") + e.what(), "please report this as a bug");
    return 1;
  }
}
