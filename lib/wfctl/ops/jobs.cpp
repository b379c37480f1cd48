#include <wfctl/ops/jobs.hpp>

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <thread>
#include <wfctl/error.hpp>
#include <wfctl/ops/workflows.hpp>

namespace wfctl {

namespace {

using Clock = std::chrono::steady_clock;

// Sleeps up to `d` in small steps, so that Ctrl-C ends a wait at once.
void pause(std::chrono::milliseconds d, const Cancel& cancel) {
  const auto until = Clock::now() + d;
  while (Clock::now() < until) {
    cancel.check();
    std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(20)));
  }
  cancel.check();
}

}  // namespace

std::optional<JobSpec> upload_job(RecordId record, const std::string& name, const UploadJob& how, bool external) {
  if (!how.submit || name == default_result_name(record)) return std::nullopt;
  JobSpec spec;
  spec.topic = how.topic;
  spec.record_id = record;
  spec.input = record_path(record, name);
  spec.delivery = external ? Delivery::pending : Delivery::local;
  return spec;
}

Job deliver_job(Store& store, Transport& transport, const Job& job, const Cancel& cancel) {
  if (!transport.external() || job.delivery != Delivery::pending) return job;
  try {
    transport.publish(job, cancel);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::interrupted) {
      store.jobs().set_delivery(job.id, Delivery::failed, std::string("not delivered: interrupted"));
      throw;
    }
    store.jobs().set_delivery(job.id, Delivery::failed, fmt::format("not delivered: {}", e.what()));
    throw Error(ErrorKind::unavailable, fmt::format("job {} was recorded but not delivered: {}", job.id, e.what()),
                fmt::format("wfctl job retry {} sends it again", job.id));
  }
  return store.jobs().set_delivery(job.id, Delivery::delivered, std::nullopt);
}

Job submit_job(Store& store, Transport& transport, JobSpec spec, const Cancel& cancel) {
  require(store, Capability::job_queue, "submitting a job");
  check(spec);
  // A job for a file that is not there would only fail on a worker, later.
  const std::string name = spec.input.substr(spec.input.rfind('/') + 1);
  if (!store.find_result(spec.record_id, name))
    throw Error(ErrorKind::not_found, fmt::format("{} not found", spec.input),
                fmt::format("upload it first: wfctl result upload {} FILE --name {}", spec.record_id, name));
  spec.delivery = transport.external() ? Delivery::pending : Delivery::local;
  Job job = store.jobs().submit(spec, cancel);
  return deliver_job(store, transport, job, cancel);
}

std::vector<Job> retry_jobs(Store& store, Transport& transport, const std::vector<JobId>& ids, const Cancel& cancel) {
  require(store, Capability::job_queue, "retrying a job");
  auto jobs = store.jobs().retry(ids, cancel);
  for (auto& j : jobs) j = deliver_job(store, transport, j, cancel);
  return jobs;
}

bool WaitResult::all_succeeded() const {
  return !timed_out && std::all_of(jobs.begin(), jobs.end(), [](const Job& j) { return j.status == JobStatus::succeeded; });
}

WaitResult wait_jobs(Store& store, const std::vector<JobId>& ids, std::optional<std::chrono::milliseconds> timeout,
                     const std::function<void(const Job&)>& on_change, const Cancel& cancel) {
  require(store, Capability::job_queue, "waiting for a job");
  const bool limited = timeout.has_value();
  const Clock::time_point deadline = Clock::now() + timeout.value_or(std::chrono::milliseconds(0));
  std::map<JobId, Job> last;
  std::chrono::milliseconds delay(50);
  WaitResult result;
  for (;;) {
    cancel.check();
    result.jobs.clear();
    bool done = true;
    for (JobId id : ids) {
      auto j = store.jobs().get(id);
      if (!j) throw Error(ErrorKind::not_found, fmt::format("job {} not found", id));
      auto it = last.find(id);
      if (it == last.end() || it->second.status != j->status || it->second.attempts != j->attempts ||
          it->second.message != j->message) {
        if (on_change) on_change(*j);
        last[id] = *j;
      }
      // A job that did not reach its transport waits for `job retry`, not for a worker.
      done = done && (is_final(j->status) || j->delivery == Delivery::failed);
      result.jobs.push_back(*j);
    }
    if (done) return result;
    if (limited && Clock::now() >= deadline) {
      result.timed_out = true;
      return result;
    }
    auto step = delay;
    if (limited) step = std::min(step, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    pause(std::max(step, std::chrono::milliseconds(0)), cancel);
    delay = std::min(delay * 2, std::chrono::milliseconds(500));
  }
}

void stream_log(Store& store, JobId id, bool follow, const std::function<void(std::string_view)>& out,
                const Cancel& cancel) {
  require(store, Capability::job_queue, "reading a job's log");
  std::uint64_t offset = 0;
  for (;;) {
    cancel.check();
    // The status first: a log read after the job is seen final holds everything it printed.
    auto j = store.jobs().get(id);
    if (!j) throw Error(ErrorKind::not_found, fmt::format("job {} not found", id));
    std::string chunk = store.jobs().read_log(id, offset);
    offset += chunk.size();
    if (!chunk.empty()) out(chunk);
    if (!follow || is_final(j->status)) return;
    if (chunk.empty()) pause(std::chrono::milliseconds(200), cancel);
  }
}

JobId parse_job_id(const std::string& text) { return parse_id(text, "job id"); }

}  // namespace wfctl
