// worker: run the handlers of queued jobs.
#include <fmt/format.h>
#include <iostream>
#include <wfctl/error.hpp>
#include <wfctl/jobs/worker.hpp>
#include <wfctl/util/duration.hpp>
#include <wfctl/util/signals.hpp>

#include "cli.hpp"

namespace wfctl::cli {

void add_worker_command(CLI::App& app, AppContext& ctx) {
  struct Opts {
    std::vector<std::string> topics, handlers;
    int concurrency = 1;
    bool once = false;
    std::string lease = "30s", poll = "500ms", backoff = "10s", grace = "30s", kill_grace = "5s";
    std::optional<std::string> identity;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("worker", "Run the handlers of queued jobs (the example reconstruction by default)");
  cmd->add_option("--topic", o->topics, "Only jobs of this topic (repeatable; default: every topic with a handler)");
  cmd->add_option("--handler", o->handlers,
                  "TOPIC=COMMAND run for the topic's jobs, with {input} {output} {record_id} {data_lake} {job_id} "
                  "{topic} (repeatable; no shell)")
      ->type_name("TOPIC=COMMAND");
  cmd->add_option("--concurrency", o->concurrency, "Jobs run at once (default 1)")->check(CLI::Range(1, 256));
  cmd->add_flag("--once", o->once, "Drain the queue and exit (exit 9 when a job failed for good)");
  cmd->add_option("--lease", o->lease, "Lease of a running job, renewed while it runs (default 30s)")->type_name("DURATION");
  cmd->add_option("--poll", o->poll, "How often an idle worker looks for work (default 500ms)")->type_name("DURATION");
  cmd->add_option("--retry-backoff", o->backoff, "First retry delay, doubled per attempt (default 10s)")->type_name("DURATION");
  cmd->add_option("--grace", o->grace, "After SIGTERM: how long running jobs may finish before they are stopped and queued again (default 30s)")
      ->type_name("DURATION");
  cmd->add_option("--kill-grace", o->kill_grace, "From SIGTERM to SIGKILL for a handler that is stopped (default 5s)")
      ->type_name("DURATION");
  cmd->add_option("--identity", o->identity, "How jobs name this worker (default HOST:PID)");
  example(cmd, "wfctl worker --once\nwfctl worker --concurrency 2 --handler 'radial_reco=reco {input} {output}'");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      WorkerOptions w;
      w.topics = o->topics;
      w.handlers = ctx.handlers();
      for (const auto& h : o->handlers) {
        auto eq = h.find('=');
        if (eq == std::string::npos || eq == 0)
          throw Error(ErrorKind::usage, fmt::format("invalid --handler '{}'", h), "use TOPIC=COMMAND");
        w.handlers[h.substr(0, eq)] = parse_handler(h.substr(eq + 1), "--handler " + h.substr(0, eq));
      }
      w.concurrency = o->concurrency;
      w.once = o->once;
      w.lease = duration_flag("--lease", o->lease);
      w.poll = duration_flag("--poll", o->poll);
      w.retry_backoff = duration_flag("--retry-backoff", o->backoff);
      w.grace = duration_flag("--grace", o->grace);
      w.kill_grace = duration_flag("--kill-grace", o->kill_grace);
      if (w.lease < std::chrono::milliseconds(300)) throw Error(ErrorKind::usage, "--lease must be at least 300ms");
      if (o->identity) w.identity = *o->identity;
      // A stop request is the worker's to act on: running jobs finish (or go back to the
      // queue) and their outcome is written, so neither the store nor the DICOM checks of
      // their outputs may stop at the signal.
      ctx.store_survives_signals();
      set_interrupt_check(nullptr);
      count_second_signal();
      w.stop_requested = [] { return signal_count(); };
      w.log = [](const std::string& line) { std::cerr << "wfctl worker: " << line << '\n'; };
      auto stats = run_worker(ctx.store(), ctx.transport(), w);
      if (o->once && stats.failed > 0)
        throw Error(ErrorKind::job_failed, fmt::format("{} job{} failed", stats.failed, stats.failed == 1 ? "" : "s"),
                    "wfctl job list --status failed shows them");
    };
  });
}

}  // namespace wfctl::cli
