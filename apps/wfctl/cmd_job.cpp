// job submit | list | get | wait | cancel | retry | logs
#include <fmt/format.h>
#include <iostream>
#include <wfctl/error.hpp>
#include <wfctl/ops/jobs.hpp>
#include <wfctl/ops/workflows.hpp>
#include <wfctl/util/duration.hpp>

#include "cli.hpp"

namespace wfctl::cli {

namespace {

std::vector<JobId> job_ids(const std::vector<std::string>& texts) {
  std::vector<JobId> ids;
  for (const auto& t : texts) ids.push_back(parse_job_id(t));
  return ids;
}

// "job 5: running (attempt 1 of 3 on host:12/1)": one line per change, on stderr.
void print_change(const Job& j) {
  std::string line = fmt::format("job {}: {}", j.id, to_string(j.status));
  if (j.status == JobStatus::running)
    line += fmt::format(" (attempt {} of {}{})", j.attempts, j.max_attempts, j.worker ? " on " + *j.worker : "");
  else if (j.status == JobStatus::queued && j.retry_at)
    line += fmt::format(" for a retry at {} (attempt {} of {} failed)", j.retry_at->substr(0, 19), j.attempts, j.max_attempts);
  if (j.message && j.status != JobStatus::running) line += ": " + *j.message;
  std::cerr << line << '\n';
}

// Waits, prints the final jobs on stdout, and throws for the exit status: 9 when any failed or
// was cancelled, 10 on a timeout.
// `started`: when the command began, so that the timeout covers all of it.
void wait_and_report(AppContext& ctx, const std::vector<JobId>& ids, const std::optional<std::string>& timeout_text,
                     std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now()) {
  std::optional<std::chrono::milliseconds> timeout, left;
  if (timeout_text) {
    timeout = duration_flag("--timeout", *timeout_text);
    left = std::max(std::chrono::milliseconds(0), *timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                 std::chrono::steady_clock::now() - started));
  }
  auto out = ctx.output();
  auto r = wait_jobs(ctx.store(), ids, left, print_change, ctx.cancel());
  output::print_jobs(std::cout, r.jobs, out);
  if (r.timed_out) {
    std::vector<std::string> open;
    for (const auto& j : r.jobs)
      if (!is_final(j.status)) open.push_back(fmt::format("{} {}", j.id, to_string(j.status)));
    throw Error(ErrorKind::timed_out, fmt::format("timed out after {} waiting for job{} {}", format_duration(*timeout),
                                                  open.size() == 1 ? "" : "s", fmt::join(open, ", ")));
  }
  if (!r.all_succeeded()) {
    std::vector<std::string> bad;
    for (const auto& j : r.jobs)
      if (j.status != JobStatus::succeeded) bad.push_back(fmt::format("job {} {}", j.id, to_string(j.status)));
    const Job* first = nullptr;
    for (const auto& j : r.jobs)
      if (j.status != JobStatus::succeeded && !first) first = &j;
    std::string why = first && first->message ? ": " + *first->message : "";
    if (r.jobs.size() == 1) throw Error(ErrorKind::job_failed, fmt::format("{}{}", bad.front(), why),
                                        fmt::format("wfctl job logs {} shows its output", first->id));
    throw Error(ErrorKind::job_failed, fmt::format("{} of {} jobs did not succeed: {}", bad.size(), r.jobs.size(),
                                                   fmt::join(bad, ", ")));
  }
}

void add_submit(CLI::App& group, AppContext& ctx) {
  struct Opts {
    std::string record, input, topic{k_default_topic};
    std::optional<std::string> output, deadline, timeout;
    int max_attempts = 3;
    bool wait = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = group.add_subcommand("submit", "Submit a reconstruction job for a file of a record");
  cmd->add_option("RECORD", o->record, "Record id")->required();
  cmd->add_option("--input", o->input, "The input: records/RECORD/NAME, or NAME of that record")->required()->type_name("PATH");
  cmd->add_option("--topic", o->topic, "Job topic (default mri_cartesian_reco)");
  cmd->add_option("--output", o->output, "Where the result goes (default records/RECORD/record-RECORD.dcm)")->type_name("PATH");
  cmd->add_option("--deadline", o->deadline, "How long one attempt may run (default 1h)")->type_name("DURATION");
  cmd->add_option("--max-attempts", o->max_attempts, "Attempts before the job fails (default 3)")->check(CLI::Range(1, 100));
  cmd->add_flag("--wait", o->wait, "Wait until the job ended: exit 0 succeeded, 9 failed or cancelled, 10 timed out");
  cmd->add_option("--timeout", o->timeout, "With --wait: give up after this long (exit 10)")->type_name("DURATION");
  example(cmd, "wfctl job submit 7 --input records/7/kspace.npy\nwfctl job submit 7 --input kspace.npy --wait --timeout 10m");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      const auto started = std::chrono::steady_clock::now();
      if (o->timeout && !o->wait) throw Error(ErrorKind::usage, "--timeout needs --wait");
      if (o->timeout) duration_flag("--timeout", *o->timeout);  // refused before anything is submitted
      auto out = ctx.output();
      JobSpec spec;
      spec.record_id = parse_id(o->record, "record id");
      spec.input = o->input.find('/') == std::string::npos ? record_path(spec.record_id, o->input) : o->input;
      spec.topic = o->topic;
      spec.output = o->output;
      spec.max_attempts = o->max_attempts;
      if (o->deadline) spec.deadline = std::chrono::duration_cast<std::chrono::seconds>(duration_flag("--deadline", *o->deadline));
      Job job = submit_job(ctx.store(), ctx.transport(), spec, ctx.cancel());
      if (!o->wait) return output::print_changed_jobs(std::cout, {job}, "submitted", out);
      std::cerr << fmt::format("job/{} submitted\n", job.id);
      wait_and_report(ctx, {job.id}, o->timeout, started);
    };
  });
}

void add_list(CLI::App& group, AppContext& ctx) {
  struct Opts {
    std::optional<std::string> status, record, topic;
    std::optional<std::int64_t> limit;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = group.add_subcommand("list", "List jobs, oldest first");
  cmd->alias("ls");
  cmd->add_option("--status", o->status, "Only jobs in this status: queued, running, succeeded, failed, cancelled");
  cmd->add_option("--record", o->record, "Only jobs of this record");
  cmd->add_option("--topic", o->topic, "Only jobs of this topic");
  cmd->add_option("--limit", o->limit, "At most this many")->check(non_negative());
  example(cmd, "wfctl job list --status failed -o wide");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      auto out = ctx.output();
      JobQuery q;
      if (o->status) q.status = parse_job_status(*o->status);
      if (o->record) q.record = parse_id(*o->record, "record id");
      q.topic = o->topic;
      q.limit = o->limit;
      require(ctx.store(), Capability::job_queue, "listing jobs");
      output::print_jobs(std::cout, ctx.store().jobs().list(q), out);
    };
  });
}

void add_get(CLI::App& group, AppContext& ctx) {
  auto id = std::make_shared<std::string>();
  auto* cmd = group.add_subcommand("get", "Show one job");
  cmd->add_option("ID", *id, "Job id")->required();
  example(cmd, "wfctl job get 12 -o json");
  cmd->callback([id, &ctx] {
    ctx.action = [id, &ctx] {
      auto out = ctx.output();
      JobId jid = parse_job_id(*id);
      require(ctx.store(), Capability::job_queue, "reading a job");
      auto j = ctx.store().jobs().get(jid);
      if (!j) throw Error(ErrorKind::not_found, fmt::format("job {} not found", jid));
      output::print_job(std::cout, *j, out);
    };
  });
}

void add_wait(CLI::App& group, AppContext& ctx) {
  struct Opts {
    std::vector<std::string> ids;
    std::optional<std::string> timeout;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = group.add_subcommand("wait", "Wait until jobs ended: exit 0 all succeeded, 9 any failed or cancelled, 10 timed out");
  cmd->add_option("ID", o->ids, "Job ids")->required();
  cmd->add_option("--timeout", o->timeout, "Give up after this long, for the whole command (exit 10)")->type_name("DURATION");
  example(cmd, "wfctl job wait 12 13 --timeout 30m");
  cmd->callback([o, &ctx] { ctx.action = [o, &ctx] { wait_and_report(ctx, job_ids(o->ids), o->timeout); }; });
}

void add_cancel(CLI::App& group, AppContext& ctx) {
  auto ids = std::make_shared<std::vector<std::string>>();
  auto* cmd = group.add_subcommand("cancel", "Cancel jobs; a running handler gets SIGTERM, then SIGKILL");
  cmd->add_option("ID", *ids, "Job ids")->required();
  example(cmd, "wfctl job cancel 12");
  cmd->callback([ids, &ctx] {
    ctx.action = [ids, &ctx] {
      auto out = ctx.output();
      auto list = job_ids(*ids);
      require(ctx.store(), Capability::job_queue, "cancelling a job");
      output::print_changed_jobs(std::cout, ctx.store().jobs().cancel(list, ctx.cancel()), "cancelled", out);
    };
  });
}

void add_retry(CLI::App& group, AppContext& ctx) {
  auto ids = std::make_shared<std::vector<std::string>>();
  auto* cmd = group.add_subcommand("retry", "Queue failed or cancelled jobs again; send undelivered ones again");
  cmd->add_option("ID", *ids, "Job ids")->required();
  example(cmd, "wfctl job retry 12");
  cmd->callback([ids, &ctx] {
    ctx.action = [ids, &ctx] {
      auto out = ctx.output();
      auto list = job_ids(*ids);
      output::print_changed_jobs(std::cout, retry_jobs(ctx.store(), ctx.transport(), list, ctx.cancel()), "queued", out);
    };
  });
}

void add_logs(CLI::App& group, AppContext& ctx) {
  struct Opts {
    std::string id;
    bool follow = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = group.add_subcommand("logs", "Print what the job's handler wrote to stdout and stderr (first 4 MiB)");
  cmd->add_option("ID", o->id, "Job id")->required();
  cmd->add_flag("-f,--follow", o->follow, "Keep printing until the job ended");
  example(cmd, "wfctl job logs 12 -f");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      JobId id = parse_job_id(o->id);
      stream_log(ctx.store(), id, o->follow, [](std::string_view bytes) { write_stdout_now(std::string(bytes)); },
                 ctx.cancel());
    };
  });
}

}  // namespace

void add_job_commands(CLI::App& app, AppContext& ctx) {
  auto* group = app.add_subcommand("job", "Submit, list, wait for, cancel and retry reconstruction jobs");
  require_one_subcommand(group, ctx);
  example(group, "wfctl job submit 7 --input records/7/kspace.npy --wait\nwfctl job list --status failed");
  add_submit(*group, ctx);
  add_list(*group, ctx);
  add_get(*group, ctx);
  add_wait(*group, ctx);
  add_cancel(*group, ctx);
  add_retry(*group, ctx);
  add_logs(*group, ctx);
}

}  // namespace wfctl::cli
