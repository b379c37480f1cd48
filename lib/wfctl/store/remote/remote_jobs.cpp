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

// The worker's side. These POSTs are never sent twice (a claim sent twice could take two
// jobs); a heartbeat or a log append that fails throws like any call, and the worker decides
// what that means for the job (jobs/worker.hpp: it keeps the handler running).
namespace {

Call json_call(std::string path, const Json& body, std::string what) {
  Call c;
  c.method = "POST";
  c.path = std::move(path);
  c.body = net::TextBody{body.dump(), "application/json"};
  c.what = std::move(what);
  return c;
}

}  // namespace

std::vector<Job> RemoteJobQueue::claim(const ClaimRequest& request) {
  if (request.transported) worker_side("claiming transported jobs");
  m_store.require_wfctl("claiming jobs");
  Json body{{"worker", request.worker}, {"topics", request.topics}, {"lease_ms", request.lease.count()},
            {"max", request.max}};
  auto c = json_call("/jobs/claim/", body, "claiming jobs");
  return jobs_of(m_store.expect(c, {200}), c.what);
}

std::optional<Job> RemoteJobQueue::claim_message(const std::string&, RecordId, const std::string&, const std::string&,
                                                 const ClaimRequest&) {
  worker_side("claiming a Kafka message's job");
}

LeaseState RemoteJobQueue::heartbeat(JobId id, const std::string& worker, std::chrono::milliseconds lease) {
  auto c = json_call(fmt::format("/jobs/{}/heartbeat", id), Json{{"worker", worker}, {"lease_ms", lease.count()}},
                     fmt::format("renewing the lease of job {}", id));
  auto r = m_store.send(c);
  if (r.status == 404) return LeaseState::lost;  // gone: nothing to run it for
  if (r.status != 200) throw m_store.error_for(c, r);
  Json j = parse_body(r, c.what);
  if (!j.is_object() || !j.contains("lease") || !j["lease"].is_string())
    throw Error(ErrorKind::unavailable, c.what + ": the server's answer has no \"lease\"");
  const auto state = j["lease"].get<std::string>();
  if (state == "renewed") return LeaseState::renewed;
  if (state == "lost") return LeaseState::lost;
  throw Error(ErrorKind::unavailable, fmt::format("{}: the server answered an unknown lease state '{}'", c.what, state));
}

std::optional<Job> RemoteJobQueue::finish(const FinishRequest& f) {
  Json body{{"worker", f.worker}, {"succeeded", f.succeeded}, {"message", f.message},
            {"retry_after_ms", f.retry_after.count()}};
  auto c = json_call(fmt::format("/jobs/{}/finish", f.id), body, fmt::format("finishing job {}", f.id));
  auto r = m_store.send(c);
  if (r.status == 409 || r.status == 404) return std::nullopt;  // no longer this worker's
  if (r.status != 200) throw m_store.error_for(c, r);
  return job_from_json(parse_body(r, c.what), c.what);
}

void RemoteJobQueue::release(JobId id, const std::string& worker, const std::string& message) {
  auto c = json_call(fmt::format("/jobs/{}/release", id), Json{{"worker", worker}, {"message", message}},
                     fmt::format("giving job {} back", id));
  auto r = m_store.send(c);
  if (r.status == 404 || r.status == 409) return;
  if (r.status != 204 && r.status != 200) throw m_store.error_for(c, r);
}

Job RemoteJobQueue::set_delivery(JobId, Delivery, const std::optional<std::string>&) { worker_side("recording a job's delivery"); }

QueueDepth RemoteJobQueue::depth(const std::vector<std::string>& topics, bool transported) {
  if (transported) worker_side("counting transported jobs");
  m_store.require_wfctl("counting queued jobs");
  std::vector<std::string> params;
  for (const auto& t : topics) params.push_back("topic=" + net::percent_encode(t));
  Call c;
  c.path = "/jobs/depth";
  c.query = fmt::format("{}", fmt::join(params, "&"));
  c.what = "counting queued jobs";
  Json j = parse_body(m_store.expect(c, {200}), c.what);
  auto count = [&](const char* field) -> std::int64_t {
    if (!j.is_object() || !j.contains(field) || !j[field].is_number_integer())
      throw Error(ErrorKind::unavailable, fmt::format("{}: the server's answer has no \"{}\"", c.what, field));
    return j[field].get<std::int64_t>();
  };
  QueueDepth d;
  d.queued = count("queued");
  d.waiting = count("waiting");
  d.running = count("running");
  if (j.contains("next_retry_ms") && j["next_retry_ms"].is_number_integer())
    d.next_retry = std::chrono::milliseconds(j["next_retry_ms"].get<std::int64_t>());
  return d;
}

void RemoteJobQueue::append_log(JobId id, std::string_view bytes) {
  if (bytes.empty()) return;
  Call c;
  c.method = "POST";
  c.path = fmt::format("/jobs/{}/log", id);
  c.body = net::TextBody{std::string(bytes), "application/octet-stream"};
  c.what = fmt::format("appending to the log of job {}", id);
  auto r = m_store.send(c);
  if (r.status == 404) return;  // no such job: nothing, as the local queue does
  if (r.status != 204 && r.status != 200) throw m_store.error_for(c, r);
}

}  // namespace wfctl::remote
