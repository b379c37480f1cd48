#include <wfctl/jobs/runner.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <wfctl/util/duration.hpp>
#include <wfctl/util/fs.hpp>

extern char** environ;

namespace wfctl {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t k_tail = 4096;

struct Pipe {
  UniqueFd read, write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {};
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::vector<std::string> environment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos && extra.count(std::string(kv.substr(0, eq)))) continue;
    env.emplace_back(kv);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> p;
  for (auto& s : strings) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

}  // namespace

std::string RunResult::describe(std::chrono::milliseconds deadline) const {
  if (!started) return error;
  if (timed_out) return fmt::format("deadline of {} exceeded", format_duration(deadline));
  if (stopped) return *stopped;
  if (signal) return fmt::format("killed by {}", sigabbrev_np(signal) ? fmt::format("SIG{}", sigabbrev_np(signal)) : std::to_string(signal));
  return fmt::format("exit {}", exit_code);
}

std::string last_lines(const std::string& tail, std::size_t max) {
  std::string t = tail;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  if (t.size() > max) {
    t = t.substr(t.size() - max);
    auto nl = t.find('\n');
    if (nl != std::string::npos && nl + 1 < t.size()) t = t.substr(nl + 1);
  }
  std::string out;
  for (char c : t) out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  return out;
}

RunResult run_handler(const RunRequest& r) {
  RunResult result;
  const auto start = Clock::now();
  Pipe out = make_pipe(), err = make_pipe();
  if (!out.read || !err.read) {
    result.error = fmt::format("cannot create a pipe: {}", std::strerror(errno));
    return result;
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out.write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, err.write.get(), STDERR_FILENO);
  if (!r.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, r.cwd.c_str());
  // Nothing else of the worker's: a descriptor another thread opened without O_CLOEXEC (a
  // DICOM file being checked, librdkafka's sockets) stays out of the handler.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  // Its own process group (so that a stop reaches everything it started) and the default
  // signal dispositions and mask, whatever the worker set for itself.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  std::vector<std::string> args = r.argv, env = environment(r.env);
  auto argv = pointers(args), envp = pointers(env);
  pid_t pid = -1;
  int rc = args.empty() ? EINVAL : ::posix_spawnp(&pid, args[0].c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  out.write.reset();
  err.write.reset();
  if (rc != 0) {
    result.error = fmt::format("cannot start {}: {}", args.empty() ? "an empty command" : args[0], std::strerror(rc));
    return result;
  }
  result.started = true;

  const auto deadline = start + r.deadline;
  std::optional<Clock::time_point> kill_at;  // set once SIGTERM went to the group
  bool exited = false, out_open = true, err_open = true;
  int status = 0;
  char buf[65536];
  auto stop = [&](bool hard) {
    ::kill(-pid, hard ? SIGKILL : SIGTERM);
    if (!hard && !kill_at) kill_at = Clock::now() + r.kill_grace;
  };
  auto last_check = Clock::now() - std::chrono::seconds(1);
  std::optional<Clock::time_point> drain_until;
  // The handler's exit wakes the poll too (a pidfd), so a short job costs no poll timeout.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  // A callback that throws (the store failing under the log or a heartbeat) must not leave
  // the handler running: it is killed and reaped, then the error goes on.
  try {
  while (out_open || err_open || !exited) {
    pollfd fds[3] = {{out_open ? out.read.get() : -1, POLLIN, 0},
                     {err_open ? err.read.get() : -1, POLLIN, 0},
                     {!exited && pidfd ? pidfd.get() : -1, POLLIN, 0}};
    int n = ::poll(fds, 3, exited ? 20 : (pidfd ? 100 : 10));
    if (n > 0) {
      for (int i = 0; i < 2; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
        if (got <= 0) {
          if (got < 0 && errno == EINTR) continue;
          (i == 0 ? out_open : err_open) = false;
          continue;
        }
        std::string_view chunk(buf, static_cast<std::size_t>(got));
        if (r.on_output) r.on_output(chunk);
        if (i == 1) {
          result.stderr_tail.append(chunk);
          if (result.stderr_tail.size() > 2 * k_tail) result.stderr_tail.erase(0, result.stderr_tail.size() - k_tail);
        }
      }
    }
    if (!exited) {
      // Seen exited but not reaped yet, so its pid (the group's id) cannot be reused before
      // the group is killed: whatever it left behind goes with it.
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        exited = true;
        drain_until = Clock::now() + std::chrono::seconds(2);
      }
    } else if (drain_until && Clock::now() > *drain_until) {
      break;  // a pipe still held open by something that escaped the group
    }
    if (exited) continue;
    const auto now = Clock::now();
    if (!result.timed_out && !result.stopped && now >= deadline) {
      result.timed_out = true;
      stop(false);
    }
    if (!result.timed_out && !result.stopped && r.should_stop && now - last_check >= std::chrono::milliseconds(100)) {
      last_check = now;
      if (auto why = r.should_stop()) {
        result.stopped = *why;
        stop(false);
      }
    }
    if (kill_at && now >= *kill_at) stop(true);
  }
  } catch (...) {
    if (!exited) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
    }
    throw;
  }
  if (!exited) {
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  if (result.stderr_tail.size() > k_tail) result.stderr_tail.erase(0, result.stderr_tail.size() - k_tail);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return result;
}

}  // namespace wfctl
