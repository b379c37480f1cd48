// wfctl: parse the command line, run the chosen action, map errors to exit codes.
#include <fcntl.h>

#include <cerrno>
#include <iostream>
#include <wfctl/error.hpp>
#include <wfctl/util/signals.hpp>

#include "cli.hpp"
#include "terminal.hpp"

namespace {

// SIGTERM gives 143 and SIGINT 130, as a shell reports a process those signals ended.
int exit_code(const wfctl::Error& e) {
  if (e.kind() == wfctl::ErrorKind::interrupted) return 128 + wfctl::interrupt_signal();
  return wfctl::exit_code_for(e.kind());
}

}  // namespace

int main(int argc, char** argv) {
  // Started with stdin, stdout or stderr closed (cron, CI), the next file we open would take
  // that number and a later print would write into it: hold those numbers with /dev/null.
  for (int fd = 0; fd < 3; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
  }
  std::ios::sync_with_stdio(false);
  wfctl::cli::protect_terminals();
  wfctl::install_interrupt_handler();
  wfctl::cli::AppContext ctx;
  CLI::App app{"wfctl: manage MRI reconstruction workflows and their results", "wfctl"};
  wfctl::cli::configure_root(app, ctx);
  wfctl::cli::add_workflow_commands(app, ctx);
  wfctl::cli::add_result_commands(app, ctx);
  wfctl::cli::add_job_commands(app, ctx);
  wfctl::cli::add_worker_command(app, ctx);
  wfctl::cli::add_serve_command(app, ctx);
  wfctl::cli::add_config_commands(app, ctx);
  wfctl::cli::add_completion_commands(app, ctx);
  wfctl::cli::add_version_command(app, ctx);
  wfctl::cli::add_help_command(app, ctx);
  wfctl::cli::example(&app, "wfctl create -f examples/cartesian-reco.json\nwfctl list -o wide\n"
                            "wfctl result upload 7 kspace.npy\nwfctl help result upload");

  auto args = wfctl::cli::split_short_equals(argc, argv);
  std::vector<const char*> arg_ptrs;
  for (const auto& a : args) arg_ptrs.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(arg_ptrs.size()), arg_ptrs.data());
    if (auto code = wfctl::cli::handle_version_flag(app, ctx)) return *code;
  } catch (const CLI::ParseError& e) {
    return wfctl::cli::report_parse_error(app, e, args);
  } catch (const wfctl::Error& e) {
    wfctl::cli::print_error(e.what(), e.hint());
    return exit_code(e);
  }

  try {
    if (!ctx.action) throw wfctl::Error(wfctl::ErrorKind::usage, "a command is required", "run 'wfctl --help' for the commands");
    ctx.action();
    std::cout.flush();
    if (!std::cout) throw wfctl::Error(wfctl::ErrorKind::unavailable, "cannot write to standard output");
    if (auto hint = ctx.missing_store_hint(); !hint.empty()) std::cerr << "hint: " << hint << '\n';
    return 0;
  } catch (const wfctl::Error& e) {
    std::cout.flush();
    auto hint = ctx.hint_for(e);
    if (e.kind() == wfctl::ErrorKind::not_found) {
      if (auto missing = ctx.missing_store_hint(); !missing.empty()) hint = missing;
    }
    wfctl::cli::print_error(e.what(), hint);
    return exit_code(e);
  } catch (const std::exception& e) {
    std::cout.flush();
    wfctl::cli::print_error(std::string("internal error: ") + e.what(), "please report this as a bug");
    return 1;
  }
}
