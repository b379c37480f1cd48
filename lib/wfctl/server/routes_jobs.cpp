// Job routes (extensions): submit through the server's transport, list, get, wait (a long
// poll of at most 60 s), cancel, retry and logs; and a worker's side of the local queue:
// claim, heartbeat, finish, release, depth and log appends.
#include <fmt/format.h>
#include <wfctl/ops/jobs.hpp>

#include "http.hpp"

namespace wfctl::server {

namespace {

const char* const k_job_not_found = "Job not found";

Loc body_loc(const char* field) { return Loc{std::string("body"), std::string(field)}; }

Json object_body(Route& r, bool& answered) {
  auto body = json_body(r.req, r.res);
  answered = !body;
  if (!body) return Json();
  if (!body->is_object())
    throw invalid("request body: value is not a valid dict", Loc{std::string("body")}, "value is not a valid dict",
                  "type_error.dict");
  return std::move(*body);
}

// The body of POST P/jobs/: every problem as an item, in field order.
JobSpec spec_from(const Json& body) {
  JobSpec spec;
  std::vector<ErrorItem> items;
  auto fail = [&](const char* field, std::string msg, std::string type) {
    items.push_back(ErrorItem{body_loc(field), msg, type, fmt::format("request body: {}: {}", field, msg)});
  };
  auto integer = [&](const char* field, bool required) -> std::optional<std::int64_t> {
    auto it = body.find(field);
    if (it == body.end() || it->is_null()) {
      if (required) fail(field, it == body.end() ? "field required" : "none is not an allowed value",
                         it == body.end() ? "value_error.missing" : "type_error.none.not_allowed");
      return std::nullopt;
    }
    if (it->is_number_integer()) return it->get<std::int64_t>();
    if (it->is_string()) {
      try {
        std::size_t used = 0;
        auto v = std::stoll(it->get<std::string>(), &used);
        if (used == it->get<std::string>().size()) return v;
      } catch (...) {
      }
    }
    fail(field, "value is not a valid integer", "type_error.integer");
    return std::nullopt;
  };
  auto string = [&](const char* field, bool required) -> std::optional<std::string> {
    auto it = body.find(field);
    if (it == body.end() || it->is_null()) {
      if (required) fail(field, it == body.end() ? "field required" : "none is not an allowed value",
                         it == body.end() ? "value_error.missing" : "type_error.none.not_allowed");
      return std::nullopt;
    }
    if (it->is_string()) return it->get<std::string>();
    fail(field, "str type expected", "type_error.str");
    return std::nullopt;
  };
  auto record = integer("record_id", true);
  auto input = string("input", true);
  auto topic = string("topic", false);
  auto output = string("output", false);
  auto attempts = integer("max_attempts", false);
  auto deadline = integer("deadline_seconds", false);
  if (!items.empty()) throw Error(ErrorKind::invalid_input, items.front().text, {}, items);
  spec.record_id = *record;
  spec.input = *input;
  if (topic) spec.topic = *topic;
  spec.output = output;
  if (attempts) {
    if (*attempts < 1 || *attempts > 100)
      throw invalid("request body: max_attempts: must be from 1 to 100", body_loc("max_attempts"),
                    "ensure this value is from 1 to 100", "value_error.number");
    spec.max_attempts = static_cast<int>(*attempts);
  }
  if (deadline) spec.deadline = std::chrono::seconds(*deadline);
  try {
    check(spec);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::invalid_input || !e.items().empty()) throw;
    throw invalid(e.what(), Loc{std::string("body")}, e.what(), "value_error");
  }
  return spec;
}

std::vector<JobId> ids_from(const Json& body) {
  auto it = body.find("ids");
  if (it == body.end()) throw invalid("request body: ids: field required", body_loc("ids"), "field required", "value_error.missing");
  if (!it->is_array())
    throw invalid("request body: ids: value is not a valid list", body_loc("ids"), "value is not a valid list", "type_error.list");
  std::vector<JobId> ids;
  for (std::size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_number_integer())
      throw invalid(fmt::format("request body: ids: item {}: value is not a valid integer", i),
                    Loc{std::string("body"), std::string("ids"), static_cast<std::int64_t>(i)}, "value is not a valid integer",
                    "type_error.integer");
    ids.push_back((*it)[i].get<JobId>());
  }
  return ids;
}

Json jobs_json(const std::vector<Job>& jobs) {
  Json out = Json::array();
  for (const auto& j : jobs) out.push_back(to_json(j));
  return out;
}

void submit(Context& ctx, Route& r) {
  bool answered = false;
  auto body = object_body(r, answered);
  if (answered) return;
  auto job = submit_job(ctx.store, ctx.transport, spec_from(body), ctx.requests.child());
  send_json(r.res, 201, to_json(job));
}

void list(Context& ctx, Route& r) {
  JobQuery q;
  if (auto s = query_string(r.req, "status")) {
    try {
      q.status = parse_job_status(*s);
    } catch (const Error& e) {
      throw invalid(e.what(), Loc{std::string("query"), std::string("status")}, "value is not a valid enumeration member",
                    "type_error.enum");
    }
  }
  q.record = query_int(r.req, "record_id");
  q.topic = query_string(r.req, "topic");
  q.limit = query_int(r.req, "limit");
  if (q.limit && *q.limit < 0)
    throw invalid("query limit: ensure this value is greater than or equal to 0", Loc{std::string("query"), std::string("limit")},
                  "ensure this value is greater than or equal to 0", "value_error.number.not_ge");
  q.after = query_int(r.req, "after");
  send_json(r.res, 200, jobs_json(ctx.store.jobs().list(q)));
}

void get(Context& ctx, Route& r, JobId id) {
  auto job = ctx.store.jobs().get(id);
  if (!job) return send_detail(r.res, 404, k_job_not_found);
  send_json(r.res, 200, to_json(*job));
}

void wait(Context& ctx, Route& r, JobId id) {
  auto seconds = query_int(r.req, "timeout").value_or(30);
  if (seconds < 0)
    throw invalid("query timeout: ensure this value is greater than or equal to 0",
                  Loc{std::string("query"), std::string("timeout")}, "ensure this value is greater than or equal to 0",
                  "value_error.number.not_ge");
  seconds = std::min<std::int64_t>(seconds, 60);
  auto result = wait_jobs(ctx.store, {id}, std::chrono::seconds(seconds), {}, ctx.requests.child());
  send_json(r.res, 200, to_json(result.jobs.front()));
}

void cancel(Context& ctx, Route& r) {
  bool answered = false;
  auto body = object_body(r, answered);
  if (answered) return;
  send_json(r.res, 200, jobs_json(ctx.store.jobs().cancel(ids_from(body), ctx.requests.child())));
}

void retry(Context& ctx, Route& r) {
  bool answered = false;
  auto body = object_body(r, answered);
  if (answered) return;
  send_json(r.res, 200, jobs_json(retry_jobs(ctx.store, ctx.transport, ids_from(body), ctx.requests.child())));
}

void logs(Context& ctx, Route& r, JobId id) {
  auto offset = query_int(r.req, "offset").value_or(0);
  if (offset < 0)
    throw invalid("query offset: ensure this value is greater than or equal to 0",
                  Loc{std::string("query"), std::string("offset")}, "ensure this value is greater than or equal to 0",
                  "value_error.number.not_ge");
  r.res.status = 200;
  r.res.content_type = "text/plain; charset=utf-8";
  r.res.body = ctx.store.jobs().read_log(id, static_cast<std::uint64_t>(offset));
}


// The fields of a worker's request bodies, checked as pydantic would: every problem an item.
class Fields {
 public:
  explicit Fields(const Json& body) : m_body(body) {}

  std::optional<std::string> string(const char* field, bool required) {
    auto it = find(field, required);
    if (!it) return std::nullopt;
    if (!(*it)->is_string()) return fail(field, "str type expected", "type_error.str"), std::nullopt;
    return (*it)->get<std::string>();
  }
  // A worker's name: required, 1 to 200 characters.
  std::string worker() {
    auto w = string("worker", true);
    if (w && (w->empty() || w->size() > 200))
      fail("worker", "ensure this value has 1 to 200 characters", "value_error.any_str.length");
    return w.value_or("");
  }
  std::optional<std::int64_t> integer(const char* field, bool required, std::int64_t min, std::int64_t max) {
    auto it = find(field, required);
    if (!it) return std::nullopt;
    if (!(*it)->is_number_integer()) return fail(field, "value is not a valid integer", "type_error.integer"), std::nullopt;
    // A huge unsigned number reads as negative here and is refused the same way.
    auto v = (*it)->get<std::int64_t>();
    if (v < min || v > max || ((*it)->is_number_unsigned() && (*it)->get<std::uint64_t>() > static_cast<std::uint64_t>(max)))
      return fail(field, fmt::format("ensure this value is from {} to {}", min, max), "value_error.number"), std::nullopt;
    return v;
  }
  std::optional<bool> boolean(const char* field, bool required) {
    auto it = find(field, required);
    if (!it) return std::nullopt;
    if (!(*it)->is_boolean()) return fail(field, "value could not be parsed to a boolean", "type_error.bool"), std::nullopt;
    return (*it)->get<bool>();
  }
  std::vector<std::string> strings(const char* field) {
    auto it = find(field, false);
    std::vector<std::string> out;
    if (!it) return out;
    if (!(*it)->is_array()) return fail(field, "value is not a valid list", "type_error.list"), out;
    for (std::size_t i = 0; i < (*it)->size(); ++i) {
      const Json& v = (**it)[i];
      if (!v.is_string() || v.get<std::string>().empty()) {
        m_items.push_back(ErrorItem{Loc{std::string("body"), std::string(field), static_cast<std::int64_t>(i)},
                                    "str type expected", "type_error.str",
                                    fmt::format("request body: {}: item {}: a non-empty string expected", field, i)});
        continue;
      }
      out.push_back(v.get<std::string>());
    }
    return out;
  }
  // Throws the items found, the first one's text as the message.
  void check() const {
    if (!m_items.empty()) throw Error(ErrorKind::invalid_input, m_items.front().text, {}, m_items);
  }

 private:
  std::optional<Json::const_iterator> find(const char* field, bool required) {
    auto it = m_body.find(field);
    if (it == m_body.end() || it->is_null()) {
      if (required)
        fail(field, it == m_body.end() ? "field required" : "none is not an allowed value",
             it == m_body.end() ? "value_error.missing" : "type_error.none.not_allowed");
      return std::nullopt;
    }
    return it;
  }
  void fail(const char* field, const std::string& msg, const std::string& type) {
    m_items.push_back(ErrorItem{body_loc(field), msg, type, fmt::format("request body: {}: {}", field, msg)});
  }
  const Json& m_body;
  std::vector<ErrorItem> m_items;
};

// A lease from 300 ms (the worker's own minimum) to 1 h: a worker renews it every third of it.
constexpr std::int64_t k_min_lease_ms = 300, k_max_lease_ms = 3600000;

void claim(Context& ctx, Route& r) {
  bool answered = false;
  auto body = object_body(r, answered);
  if (answered) return;
  Fields f(body);
  ClaimRequest req;
  req.worker = f.worker();
  req.topics = f.strings("topics");
  auto lease = f.integer("lease_ms", false, k_min_lease_ms, k_max_lease_ms);
  auto max = f.integer("max", false, 1, 100);
  f.check();
  if (lease) req.lease = std::chrono::milliseconds(*lease);
  if (max) req.max = static_cast<std::size_t>(*max);
  req.transported = false;  // the Kafka worker's claims need the brokers: not over HTTP
  send_json(r.res, 200, jobs_json(ctx.store.jobs().claim(req)));
}

// 404 unless the job exists: the worker's calls on a job id that was never there.
bool known(Context& ctx, Route& r, JobId id) {
  if (ctx.store.jobs().get(id)) return true;
  send_detail(r.res, 404, k_job_not_found);
  return false;
}

void heartbeat(Context& ctx, Route& r, JobId id) {
  bool answered = false;
  auto body = object_body(r, answered);
  if (answered) return;
  Fields f(body);
  auto worker = f.worker();
  auto lease = f.integer("lease_ms", true, k_min_lease_ms, k_max_lease_ms);
  f.check();
  if (!known(ctx, r, id)) return;
  auto state = ctx.store.jobs().heartbeat(id, worker, std::chrono::milliseconds(*lease));
  send_json(r.res, 200, Json{{"lease", state == LeaseState::renewed ? "renewed" : "lost"}});
}

void finish(Context& ctx, Route& r, JobId id) {
  bool answered = false;
  auto body = object_body(r, answered);
  if (answered) return;
  Fields f(body);
  FinishRequest req;
  req.id = id;
  req.worker = f.worker();
  auto succeeded = f.boolean("succeeded", true);
  auto message = f.string("message", false);
  auto retry = f.integer("retry_after_ms", false, 0, 24 * 3600 * 1000);
  f.check();
  req.succeeded = *succeeded;
  req.message = message.value_or("");
  req.retry_after = std::chrono::milliseconds(retry.value_or(0));
  if (!known(ctx, r, id)) return;
  auto after = ctx.store.jobs().finish(req);
  if (!after) return send_detail(r.res, 409, fmt::format("job {} is no longer running for worker {}", id, req.worker));
  send_json(r.res, 200, to_json(*after));
}

void release(Context& ctx, Route& r, JobId id) {
  bool answered = false;
  auto body = object_body(r, answered);
  if (answered) return;
  Fields f(body);
  auto worker = f.worker();
  auto message = f.string("message", false);
  f.check();
  if (!known(ctx, r, id)) return;
  ctx.store.jobs().release(id, worker, message.value_or("returned to the queue by its worker"));
  r.res.status = 204;
}

void depth(Context& ctx, Route& r) {
  std::vector<std::string> topics;
  for (const auto& [k, v] : r.req.query) {
    if (k != "topic") continue;
    if (v.empty())
      throw invalid("query topic: ensure this value has at least 1 characters", Loc{std::string("query"), std::string("topic")},
                    "ensure this value has at least 1 characters", "value_error.any_str.min_length");
    topics.push_back(v);
  }
  auto d = ctx.store.jobs().depth(topics, false);
  send_json(r.res, 200,
            Json{{"queued", d.queued},
                 {"waiting", d.waiting},
                 {"running", d.running},
                 {"next_retry_ms", d.next_retry ? Json(d.next_retry->count()) : Json(nullptr)}});
}

// The most one log append may carry: the store keeps k_log_limit bytes of a job anyway.
constexpr std::uint64_t k_max_log_append = k_log_limit + (std::uint64_t{1} << 20);

void append_log(Context& ctx, Route& r, JobId id) {
  const std::string* type = r.req.header("Content-Type");
  std::string media = type ? type->substr(0, type->find(';')) : "";
  while (!media.empty() && media.back() == ' ') media.pop_back();
  if (media != "application/octet-stream")
    throw invalid("request body: the content type must be application/octet-stream", Loc{std::string("body")},
                  "the content type must be application/octet-stream", "value_error.content_type");
  std::string bytes;
  bool too_large = false;
  bool ok = r.req.read_body([&](const char* data, std::size_t n) {
    if (bytes.size() + n > k_max_log_append) return too_large = true, false;
    bytes.append(data, n);
    return true;
  });
  if (too_large || !ok) r.res.close_connection = true;
  if (too_large) return send_detail(r.res, 413, fmt::format("a log append is limited to {} bytes", k_max_log_append));
  if (!ok) return send_detail(r.res, 400, "the request body could not be read");
  if (!known(ctx, r, id)) return;
  if (!bytes.empty()) ctx.store.jobs().append_log(id, bytes);
  r.res.status = 204;
}

}  // namespace

bool route_jobs(Context& ctx, Route& r) {
  const auto& seg = r.seg;
  auto& res = r.res;
  if (seg.empty() || seg[0] != "jobs" || seg.size() > 3) return false;
  try {
    if (seg.size() == 1) {
      if (r.get()) return list(ctx, r), true;
      if (r.is("POST")) return submit(ctx, r), true;
      return method_not_allowed(res), true;
    }
    if (seg.size() == 2 && seg[1] == "claim") {
      if (!r.is("POST")) return method_not_allowed(res), true;
      return claim(ctx, r), true;
    }
    if (seg.size() == 2 && seg[1] == "depth") {
      if (!r.get()) return method_not_allowed(res), true;
      return depth(ctx, r), true;
    }
    if (seg.size() == 3 && (seg[2] == "heartbeat" || seg[2] == "finish" || seg[2] == "release" || seg[2] == "log")) {
      if (!r.is("POST")) return method_not_allowed(res), true;
      auto id = path_id(seg[1], "job_id");
      if (seg[2] == "heartbeat") heartbeat(ctx, r, id);
      else if (seg[2] == "finish") finish(ctx, r, id);
      else if (seg[2] == "release") release(ctx, r, id);
      else append_log(ctx, r, id);
      return true;
    }
    if (seg.size() == 2 && (seg[1] == "cancel" || seg[1] == "retry")) {
      if (!r.is("POST")) return method_not_allowed(res), true;
      if (seg[1] == "cancel") cancel(ctx, r);
      else retry(ctx, r);
      return true;
    }
    if (seg.size() == 3 && seg[2] != "wait" && seg[2] != "logs") return false;
    if (!r.get()) return method_not_allowed(res), true;
    auto id = path_id(seg[1], "job_id");
    if (seg.size() == 2) get(ctx, r, id);
    else if (seg[2] == "wait") wait(ctx, r, id);
    else logs(ctx, r, id);
    return true;
  } catch (const Error& e) {
    const bool one = seg.size() >= 2 && seg[1] != "cancel" && seg[1] != "retry" && seg[1] != "claim" && seg[1] != "depth";
    send_error(res, e, one ? k_job_not_found : "");
    return true;
  }
}

}  // namespace wfctl::server
