#pragma once
// Runs one handler command for one job attempt: without a shell, in a process group of its
// own, with stdin from /dev/null, stdout and stderr captured, a deadline, and a way to stop
// it (SIGTERM to the group, SIGKILL after a grace period).
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wfctl {

struct RunRequest {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  std::string cwd;                // the directory it runs in
  std::map<std::string, std::string> env;  // added to (or replacing in) the worker's environment
  std::chrono::milliseconds deadline{3600000};
  std::chrono::milliseconds kill_grace{5000};  // SIGTERM, then this long, then SIGKILL
  /// Called with output as it arrives (stdout and stderr, in the order read).
  std::function<void(std::string_view)> on_output;
  /// Asked about every 100 ms: a reason to stop the handler now (cancelled, worker
  /// stopping), or nullopt to let it run.
  std::function<std::optional<std::string>()> should_stop;
};

struct RunResult {
  bool started = false;       // false: the command could not be started (see `error`)
  int exit_code = -1;         // when it exited
  int signal = 0;             // when a signal ended it
  bool timed_out = false;     // the deadline passed and it was stopped
  std::optional<std::string> stopped;  // why should_stop stopped it
  std::string error;          // why it could not be started
  std::string stderr_tail;    // the last 4 KiB of stderr
  std::chrono::milliseconds elapsed{0};

  bool exited_ok() const { return started && !timed_out && !stopped && signal == 0 && exit_code == 0; }
  /// "exit 3", "killed by SIGKILL", "deadline of 10s exceeded", "cannot start x: No such file"
  std::string describe(std::chrono::milliseconds deadline) const;
};

/// Runs the command to its end; never throws for what the handler does (a missing program,
/// a crash, a hang: all in the result). Kills the whole process group once the handler
/// exited, so nothing it started outlives the attempt.
RunResult run_handler(const RunRequest& request);

/// The last lines of `tail` that fit in `max` bytes, trimmed: a job's failure message.
std::string last_lines(const std::string& tail, std::size_t max = 500);

}  // namespace wfctl
