// The job routes of wfctl serve (docs/serve-api.md, "Jobs"): what the CLI's job commands call.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <wfctl/store/remote/remote_store.hpp>

namespace wfctl::remote {

namespace {

Call ids_call(const std::string& path, const std::vector<JobId>& ids, std::string what, const Cancel& cancel) {
  Json body = Json::object();
  body["ids"] = ids;
  Call c;
  c.method = "POST";
  c.path = path;
  c.body = net::TextBody{body.dump(), "application/json"};
  c.what = std::move(what);
  c.cancel = cancel;
  return c;
}

std::vector<Job> jobs_of(const net::Response& r, const std::string& what) {
  Json j = parse_body(r, what);
  if (!j.is_array()) throw Error(ErrorKind::unavailable, what + ": the server's answer is not a list");
  std::vector<Job> out;
  for (const auto& job : j) out.push_back(job_from_json(job, what));
  return out;
}

}  // namespace

void RemoteJobQueue::worker_side(std::string_view operation) const {
  throw Error(ErrorKind::not_supported,
              fmt::format("{} is not supported by store {}: a worker runs against a local store", operation,
                          m_store.describe()));
}

Job RemoteJobQueue::submit(const JobSpec& spec, const Cancel& cancel) {
  check(spec);
  Json body = Json::object();
  body["record_id"] = spec.record_id;
  body["input"] = spec.input;
  body["topic"] = spec.topic;
  if (spec.output) body["output"] = *spec.output;
  body["max_attempts"] = spec.max_attempts;
  body["deadline_seconds"] = spec.deadline.count();
  Call c;
  c.method = "POST";
  c.path = "/jobs/";
  c.body = net::TextBody{body.dump(), "application/json"};
  c.what = "submitting a job for " + spec.input;
  c.cancel = cancel;
  auto r = m_store.expect(c, {200, 201});
  return job_from_json(parse_body(r, c.what), c.what);
}

std::optional<Job> RemoteJobQueue::get(JobId id) {
  Call c;
  c.path = fmt::format("/jobs/{}", id);
  c.what = fmt::format("job {}", id);
  auto r = m_store.send(c);
  if (r.status == 404) return std::nullopt;
  if (r.status != 200) throw m_store.error_for(c, r);
  return job_from_json(parse_body(r, c.what), c.what);
}

std::vector<Job> RemoteJobQueue::list(const JobQuery& q) {
  std::vector<std::string> params;
  if (q.status) params.push_back("status=" + std::string(to_string(*q.status)));
  if (q.record) params.push_back(fmt::format("record_id={}", *q.record));
  if (q.topic) params.push_back("topic=" + net::percent_encode(*q.topic));
  if (q.limit) params.push_back(fmt::format("limit={}", *q.limit));
  if (q.after) params.push_back(fmt::format("after={}", *q.after));
  Call c;
  c.path = "/jobs/";
  c.query = fmt::format("{}", fmt::join(params, "&"));
  c.what = "listing jobs";
  return jobs_of(m_store.expect(c, {200}), c.what);
}

std::vector<Job> RemoteJobQueue::cancel(const std::vector<JobId>& ids, const Cancel& cancel) {
  auto c = ids_call("/jobs/cancel/", ids, fmt::format("cancelling job {}", fmt::join(ids, ", ")), cancel);
  return jobs_of(m_store.expect(c, {200}), c.what);
}

std::vector<Job> RemoteJobQueue::retry(const std::vector<JobId>& ids, const Cancel& cancel) {
  auto c = ids_call("/jobs/retry/", ids, fmt::format("retrying job {}", fmt::join(ids, ", ")), cancel);
  return jobs_of(m_store.expect(c, {200}), c.what);
}

std::string RemoteJobQueue::read_log(JobId id, std::uint64_t offset) {
  Call c;
  c.path = fmt::format("/jobs/{}/logs", id);
  if (offset) c.query = fmt::format("offset={}", offset);
  c.what = fmt::format("reading the log of job {}", id);
  auto r = m_store.send(c);
  if (r.status == 404) throw Error(ErrorKind::not_found, fmt::format("job {} not found", id));
  if (r.status != 200) throw m_store.error_for(c, r);
  return r.body;
}

std::vector<Job> RemoteJobQueue::claim(const ClaimRequest&) { worker_side("claiming jobs"); }
std::optional<Job> RemoteJobQueue::claim_message(const std::string&, RecordId, const std::string&, const std::string&,
                                                 const ClaimRequest&) {
  worker_side("claiming a Kafka message's job");
}
LeaseState RemoteJobQueue::heartbeat(JobId, const std::string&, std::chrono::milliseconds) { worker_side("a job heartbeat"); }
std::optional<Job> RemoteJobQueue::finish(const FinishRequest&) { worker_side("finishing a job"); }
void RemoteJobQueue::release(JobId, const std::string&, const std::string&) { worker_side("releasing a job"); }
Job RemoteJobQueue::set_delivery(JobId, Delivery, const std::optional<std::string>&) { worker_side("recording a job's delivery"); }
QueueDepth RemoteJobQueue::depth(const std::vector<std::string>&, bool) { worker_side("counting queued jobs"); }
void RemoteJobQueue::append_log(JobId, std::string_view) { worker_side("appending to a job's log"); }

}  // namespace wfctl::remote
