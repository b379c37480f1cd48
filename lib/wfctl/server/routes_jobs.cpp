// Job routes (extensions): submit through the server's transport, list, get, wait (a long
// poll of at most 60 s), cancel, retry and logs.
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
    const bool one = seg.size() >= 2 && seg[1] != "cancel" && seg[1] != "retry";
    send_error(res, e, one ? k_job_not_found : "");
    return true;
  }
}

}  // namespace wfctl::server
