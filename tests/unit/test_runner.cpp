// The handler runner: exit codes, captured output, the deadline, a stop request, and the
// process group going with the handler.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <thread>
#include <wfctl/jobs/runner.hpp>

#include "temp_dir.hpp"

using namespace wfctl;
using namespace std::chrono_literals;

namespace {
// Running or sleeping; a zombie (killed, not yet reaped by whoever adopted it) is not.
bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_text, comm, state;
  if (!(stat >> pid_text >> comm >> state)) return false;
  return state != "Z" && state != "X";
}

RunRequest sh(std::string script) {
  RunRequest r;
  r.argv = {"sh", "-c", std::move(script)};
  return r;
}
}  // namespace

TEST_CASE("runner: exit status and output, stdout and stderr apart", "[jobs]") {
  std::string out;
  RunRequest r = sh("echo to-out; echo to-err >&2; exit 3");
  r.on_output = [&](std::string_view b) { out += b; };
  RunResult res = run_handler(r);
  CHECK(res.started);
  CHECK(res.exit_code == 3);
  CHECK_FALSE(res.exited_ok());
  CHECK(res.describe(r.deadline) == "exit 3");
  CHECK_THAT(out, Catch::Contains("to-out") && Catch::Contains("to-err"));
  CHECK(res.stderr_tail == "to-err\n");
  CHECK(last_lines("a\nb\n  \n") == "a b");
}

TEST_CASE("runner: a missing program is a result, not an exception", "[jobs]") {
  RunRequest r;
  r.argv = {"/nonexistent/reco", "x"};
  RunResult res = run_handler(r);
  CHECK_FALSE(res.started);
  CHECK_THAT(res.describe(r.deadline), Catch::Contains("cannot start /nonexistent/reco"));
}

TEST_CASE("runner: the deadline stops the handler and what it started", "[jobs]") {
  test::TempDir dir;
  const std::string pid_file = (dir / "child.pid").string();
  // The handler leaves a grandchild behind; the group kill must take it too.
  RunRequest r = sh("sleep 60 & echo $! > " + pid_file + "; wait");
  r.deadline = 300ms;
  r.kill_grace = 200ms;
  auto t0 = std::chrono::steady_clock::now();
  RunResult res = run_handler(r);
  CHECK(res.timed_out);
  CHECK(res.describe(r.deadline) == "deadline of 300ms exceeded");
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  pid_t child = 0;
  std::ifstream(pid_file) >> child;
  REQUIRE(child > 0);
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(alive(child));  // gone with its group
}

TEST_CASE("runner: a stop request ends a handler that ignores SIGTERM with SIGKILL", "[jobs]") {
  RunRequest r = sh("trap '' TERM; sleep 60 & wait; sleep 60");
  r.kill_grace = 300ms;
  auto t0 = std::chrono::steady_clock::now();
  r.should_stop = [&]() -> std::optional<std::string> {
    if (std::chrono::steady_clock::now() - t0 > 200ms) return std::string("stopped: cancelled");
    return std::nullopt;
  };
  RunResult res = run_handler(r);
  CHECK(res.stopped == "stopped: cancelled");
  CHECK(res.signal == SIGKILL);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
}
