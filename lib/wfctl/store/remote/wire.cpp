// The JSON on the wire: parsing the server's answers into the library's model, strictly
// enough that a server that is not the contract's gets a clear error, not a wrong value.
#include <algorithm>
#include <fmt/format.h>
#include <wfctl/store/remote/remote_store.hpp>

namespace wfctl::remote {

namespace {

[[noreturn]] void bad(std::string_view what, std::string_view why) {
  throw Error(ErrorKind::unavailable, fmt::format("{}: the server's answer is not the contract's: {}", what, why));
}

const Json& field(const Json& j, const char* key, std::string_view what) {
  if (!j.is_object()) bad(what, "expected a JSON object");
  auto it = j.find(key);
  if (it == j.end()) bad(what, fmt::format("no \"{}\"", key));
  return *it;
}

std::string str(const Json& j, const char* key, std::string_view what) {
  const Json& v = field(j, key, what);
  if (!v.is_string()) bad(what, fmt::format("\"{}\" is not a string", key));
  return v.get<std::string>();
}

std::optional<std::string> opt_str(const Json& j, const char* key, std::string_view what) {
  if (!j.is_object()) bad(what, "expected a JSON object");
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) bad(what, fmt::format("\"{}\" is not a string", key));
  return it->get<std::string>();
}

std::int64_t integer(const Json& j, const char* key, std::string_view what) {
  const Json& v = field(j, key, what);
  if (!v.is_number_integer()) bad(what, fmt::format("\"{}\" is not an integer", key));
  return v.get<std::int64_t>();
}

Delivery parse_delivery(const std::string& text, std::string_view what) {
  for (auto d : {Delivery::local, Delivery::pending, Delivery::delivered, Delivery::failed})
    if (to_string(d) == text) return d;
  bad(what, fmt::format("unknown delivery '{}'", text));
}

}  // namespace

Workflow workflow_from_json(const Json& j, std::string_view what) {
  Workflow w;
  w.fields.name = str(j, "name", what);
  w.fields.description = opt_str(j, "description", what);
  w.fields.version = str(j, "version", what);
  w.fields.author = opt_str(j, "author", what);
  w.id = integer(j, "id", what);
  w.datetime_created = str(j, "datetime_created", what);
  w.datetime_updated = opt_str(j, "datetime_updated", what);
  if (auto it = j.find("definition"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) bad(what, "\"definition\" is not an object");
    w.definition = Definition(*it);
  }
  return w;
}

ResultFile result_from_json(const Json& j, std::string_view what) {
  ResultFile r;
  r.record_id = integer(j, "record_id", what);
  r.name = str(j, "name", what);
  const Json& size = field(j, "size", what);
  if (!size.is_number_unsigned() && !(size.is_number_integer() && size.get<std::int64_t>() >= 0))
    bad(what, "\"size\" is not a size");
  r.size = size.get<std::uint64_t>();
  r.sha256 = opt_str(j, "sha256", what).value_or("");
  r.datetime_stored = opt_str(j, "datetime_stored", what).value_or("");
  return r;
}

Job job_from_json(const Json& j, std::string_view what) {
  Job job;
  job.id = integer(j, "id", what);
  job.topic = str(j, "topic", what);
  job.record_id = integer(j, "record_id", what);
  job.input = str(j, "input", what);
  job.output = str(j, "output", what);
  try {
    job.status = parse_job_status(str(j, "status", what));
  } catch (const Error& e) {
    bad(what, e.what());
  }
  job.attempts = static_cast<int>(integer(j, "attempts", what));
  job.max_attempts = static_cast<int>(integer(j, "max_attempts", what));
  job.deadline_seconds = integer(j, "deadline_seconds", what);
  job.datetime_created = str(j, "datetime_created", what);
  job.datetime_started = opt_str(j, "datetime_started", what);
  job.datetime_finished = opt_str(j, "datetime_finished", what);
  job.retry_at = opt_str(j, "retry_at", what);
  job.message = opt_str(j, "message", what);
  job.worker = opt_str(j, "worker", what);
  job.lease_expires = opt_str(j, "lease_expires", what);
  job.delivery = parse_delivery(opt_str(j, "delivery", what).value_or("local"), what);
  return job;
}

Json base_workflow_json(const WorkflowFields& f) {
  Json j = Json::object();
  j["name"] = f.name;
  j["description"] = f.description ? Json(*f.description) : Json(nullptr);
  j["version"] = f.version;
  j["author"] = f.author ? Json(*f.author) : Json(nullptr);
  return j;
}

Json workflow_in_json(const WorkflowDraft& d) {
  Json j = base_workflow_json(d.fields);
  j["definition"] = d.definition;
  return j;
}

Json parse_body(const net::Response& r, std::string_view what) {
  Json j = Json::parse(r.body, nullptr, false);
  if (j.is_discarded()) bad(what, fmt::format("status {} with a body that is not JSON", r.status));
  return j;
}

namespace {

// SQLite's order: NULL before any text ascending (and so after it descending), text by bytes.
int compare_opt(const std::optional<std::string>& a, const std::optional<std::string>& b) {
  if (!a || !b) return a ? 1 : (b ? -1 : 0);
  return a->compare(*b);
}

int compare_by(SortKey key, const Workflow& a, const Workflow& b) {
  switch (key) {
    case SortKey::id: return 0;
    case SortKey::name: return a.fields.name.compare(b.fields.name);
    case SortKey::version: return a.fields.version.compare(b.fields.version);
    case SortKey::author: return compare_opt(a.fields.author, b.fields.author);
    case SortKey::created: return a.datetime_created.compare(b.datetime_created);
    case SortKey::updated: return compare_opt(a.datetime_updated, b.datetime_updated);
  }
  return 0;
}

}  // namespace

std::vector<Workflow> apply_query(std::vector<Workflow> all, const ListQuery& q) {
  std::vector<Workflow> out;
  for (auto& w : all) {
    if (q.name && w.fields.name != *q.name) continue;
    if (q.author && w.fields.author != q.author) continue;
    if (q.version && w.fields.version != *q.version) continue;
    if (!q.with_definition) w.definition = Definition();
    out.push_back(std::move(w));
  }
  std::sort(out.begin(), out.end(), [&](const Workflow& a, const Workflow& b) {
    int c = compare_by(q.sort_by, a, b);
    if (c == 0) c = a.id < b.id ? -1 : (a.id > b.id ? 1 : 0);
    return q.descending ? c > 0 : c < 0;
  });
  std::size_t skip = q.offset ? static_cast<std::size_t>(std::min<std::int64_t>(*q.offset, static_cast<std::int64_t>(out.size()))) : 0;
  out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(skip));
  if (q.limit && static_cast<std::size_t>(*q.limit) < out.size()) out.resize(static_cast<std::size_t>(*q.limit));
  return out;
}

}  // namespace wfctl::remote
