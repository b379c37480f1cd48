// The remote store: HTTP with retries, the server's description, and the workflow routes.
#include <wfctl/store/remote/remote_store.hpp>

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <thread>
#include <wfctl/util/fs.hpp>
#include <wfctl/version.hpp>

namespace wfctl::remote {

namespace {

constexpr std::chrono::milliseconds k_backoff_base{200};
constexpr std::chrono::milliseconds k_backoff_cap{5000};
constexpr std::chrono::milliseconds k_retry_after_cap{30000};

std::optional<std::string> read_token_file(const std::string& path) {
  UniqueFd fd = open_for_reading(path, "token file " + path);
  std::string text;
  char buf[4096];
  while (std::size_t n = read_some(fd.get(), buf, sizeof buf, "token file " + path)) {
    text.append(buf, n);
    if (text.size() > 65536) throw Error(ErrorKind::usage, "token file " + path + " is too large for a bearer token");
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  std::size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  text.erase(0, start);
  if (text.empty()) throw Error(ErrorKind::usage, "token file " + path + " is empty");
  return text;
}

void check_token(const std::string& token, const std::string& source) {
  for (unsigned char c : token)
    if (c < 0x21 || c > 0x7e)
      throw Error(ErrorKind::usage, source + ": a bearer token is printable ASCII without spaces");
}

// Sleeps `d`, waking early to throw once `cancel` is cancelled.
void sleep_for(std::chrono::milliseconds d, const Cancel& cancel) {
  auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
    cancel.check();
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(50), until - std::chrono::steady_clock::now()));
  }
  cancel.check();
}

}  // namespace

std::unique_ptr<Store> open_remote_store(std::string_view url, const StoreOptions& options) {
  RemoteUrl u = parse_remote_url(url);
  std::optional<std::string> token = options.http.token;
  if (token) check_token(*token, "WFCTL_TOKEN");
  else if (options.token_file) {
    token = read_token_file(*options.token_file);
    check_token(*token, "token file " + *options.token_file);
  }
  return std::make_unique<RemoteStore>(std::move(u), options, std::move(token));
}

RemoteStore::RemoteStore(RemoteUrl url, const StoreOptions& options, std::optional<std::string> token)
    : m_url(std::move(url)), m_options(options), m_token(std::move(token)), m_client(net::make_http_client()),
      m_rng(std::random_device{}()), m_jobs(std::make_unique<RemoteJobQueue>(*this)) {}

RemoteStore::~RemoteStore() = default;

const ServerInfo& RemoteStore::server() const {
  std::call_once(m_server_once, [this] {
    Call c;
    c.path = "/server";
    c.what = "asking " + describe() + " what it is";
    auto r = send(c);
    if (r.status == 401 || r.status == 403 || r.status >= 500) throw error_for(c, r);
    m_server = parse_server_info(r.status, r.body);
  });
  if (!m_server) throw Error(ErrorKind::internal, "the server's description is missing");
  return *m_server;
}

const Capabilities& RemoteStore::capabilities() const { return server().capabilities; }

void RemoteStore::require_wfctl(std::string_view operation) const {
  if (!server().is_wfctl)
    throw Error(ErrorKind::not_supported,
                fmt::format("{} is not supported by store {} (a ScanHub reference server)", operation, describe()));
}

net::Response RemoteStore::send(const Call& call) const {
  net::Request req;
  req.method = call.method;
  req.url = m_url.base() + call.path + (call.query.empty() ? "" : "?" + call.query);
  req.body = call.body;
  req.headers.add("Accept", "application/json");
  req.headers.add("User-Agent", std::string("wfctl/") + k_version);
  if (m_token) req.headers.add("Authorization", "Bearer " + *m_token);
  net::Options o;
  o.connect_timeout = m_options.http.connect_timeout;
  o.timeout = m_options.http.timeout;
  o.idle_timeout = m_options.http.idle_timeout;
  o.ca_file = m_options.http.ca_file;
  o.insecure = m_options.http.insecure;
  o.progress = call.progress;
  // Both the call's token and the store's stop the transfer.
  Cancel cancel = call.cancel;
  const Cancel store_cancel = m_options.cancel;
  o.cancel = cancel;
  o.progress = [progress = call.progress, store_cancel](const net::TransferProgress& p) {
    store_cancel.check();
    if (progress) progress(p);
  };

  std::uint64_t streamed = 0;
  WriteFn sink;
  if (call.sink)
    sink = [&](const char* d, std::size_t n) {
      streamed += n;
      (*call.sink)(d, n);
    };
  const bool idempotent = is_idempotent(call.method);
  const int attempts = idempotent ? std::max(1, m_options.http.max_attempts) : 1;
  for (int attempt = 0;; ++attempt) {
    std::optional<std::chrono::milliseconds> delay;
    try {
      store_cancel.check();
      auto r = m_client->perform(req, o, sink, call.on_headers);
      if (!idempotent || attempt + 1 >= attempts || !is_retryable_status(r.status) || streamed > 0) return r;
      if (auto after = r.headers.find("Retry-After"))
        delay = parse_retry_after(*after, std::chrono::system_clock::now(), k_retry_after_cap);
    } catch (const net::TransportError& e) {
      const bool retryable = e.failure() == net::Failure::connect || e.failure() == net::Failure::dropped;
      std::string msg = fmt::format("{}: {}", call.what, e.what());
      if (!idempotent || !retryable || attempt + 1 >= attempts || streamed > 0)
        throw net::TransportError(e.failure(), msg, e.body_bytes(), e.hint());
    }
    if (!delay) {
      std::lock_guard<std::mutex> lock(m_rng_mutex);
      delay = backoff_delay(attempt, k_backoff_base, k_backoff_cap, m_rng);
    }
    sleep_for(*delay, cancel);
    sleep_for(std::chrono::milliseconds(0), store_cancel);
  }
}

Error RemoteStore::error_for(const Call& call, const net::Response& r) const {
  return error_for_response(r.status, r.body, r.headers.find("Location"), describe(), call.what);
}

net::Response RemoteStore::expect(const Call& call, std::initializer_list<long> ok) const {
  auto r = send(call);
  if (std::find(ok.begin(), ok.end(), r.status) == ok.end()) throw error_for(call, r);
  return r;
}

namespace {

Call json_call(std::string method, std::string path, const Json& body, std::string what, Cancel cancel = {}) {
  Call c;
  c.method = std::move(method);
  c.path = std::move(path);
  c.body = net::TextBody{body.dump(), "application/json"};
  c.what = std::move(what);
  c.cancel = std::move(cancel);
  return c;
}

Call get_call(std::string path, std::string what) {
  Call c;
  c.path = std::move(path);
  c.what = std::move(what);
  return c;
}

std::string plural(std::size_t n, const char* what) { return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s"); }

}  // namespace

std::vector<Workflow> RemoteStore::create_workflows(const std::vector<WorkflowDraft>& drafts,
                                                    const WriteCall<std::vector<Workflow>>& call) {
  if (drafts.empty()) return {};
  std::vector<Workflow> out;
  if (drafts.size() == 1) {
    auto c = json_call("POST", "/", workflow_in_json(drafts[0]), "creating workflow " + drafts[0].fields.name, call.cancel);
    auto r = expect(c, {200, 201});
    out.push_back(workflow_from_json(parse_body(r, c.what), c.what));
  } else {
    require(*this, Capability::multi_object_transactions, "creating several workflows at once");
    Json arr = Json::array();
    for (const auto& d : drafts) arr.push_back(workflow_in_json(d));
    auto c = json_call("POST", "/batch/", arr, "creating " + plural(drafts.size(), "workflow"), call.cancel);
    Json j = parse_body(expect(c, {200, 201}), c.what);
    if (!j.is_array()) throw Error(ErrorKind::unavailable, c.what + ": the server's answer is not a list");
    for (const auto& w : j) out.push_back(workflow_from_json(w, c.what));
  }
  // The server has committed already. A hook that refuses (a print that failed) gets the
  // creates undone, so that a failed command leaves the server's workflows as they were; only
  // the ids are spent, as the reference never reuses them.
  if (call.before_commit) {
    try {
      call.before_commit(out);
    } catch (...) {
      undo_creates(out);
      throw;
    }
  }
  return out;
}

void RemoteStore::undo_creates(const std::vector<Workflow>& created) noexcept {
  try {
    std::vector<WorkflowId> ids;
    for (const auto& w : created) ids.push_back(w.id);
    delete_workflows(ids, true, {});
  } catch (...) {
    // The original error is the one to report; the workflows stay (the man page says so).
  }
}

std::optional<Workflow> RemoteStore::find_workflow(WorkflowId id) {
  auto c = get_call(fmt::format("/{}", id), fmt::format("workflow {}", id));
  auto r = send(c);
  if (r.status == 404) return std::nullopt;
  if (r.status != 200) throw error_for(c, r);
  return workflow_from_json(parse_body(r, c.what), c.what);
}

std::vector<Workflow> RemoteStore::list_workflows(const ListQuery& q) {
  check(q);
  const bool wfctl = server().is_wfctl;
  auto c = get_call(q.with_definition ? "/" : "/meta/", "listing workflows");
  if (wfctl) {
    std::vector<std::string> params;
    if (q.name) params.push_back("name=" + net::percent_encode(*q.name));
    if (q.author) params.push_back("author=" + net::percent_encode(*q.author));
    if (q.version) params.push_back("version=" + net::percent_encode(*q.version));
    if (q.sort_by != SortKey::id) params.push_back("sort_by=" + std::string(to_string(q.sort_by)));
    if (q.descending) params.push_back("order=desc");
    if (q.limit) params.push_back(fmt::format("limit={}", *q.limit));
    if (q.offset) params.push_back(fmt::format("offset={}", *q.offset));
    c.query = fmt::format("{}", fmt::join(params, "&"));
  }
  Json j = parse_body(expect(c, {200}), c.what);
  if (!j.is_array()) throw Error(ErrorKind::unavailable, c.what + ": the server's answer is not a list");
  std::vector<Workflow> all;
  for (const auto& w : j) all.push_back(workflow_from_json(w, c.what));
  if (wfctl) return all;
  return apply_query(std::move(all), q);  // the reference ignores every parameter
}

Workflow RemoteStore::update_workflow(WorkflowId id, const WorkflowUpdate& update, const WriteCall<Workflow>& call) {
  Json body = base_workflow_json(update.fields);
  if (update.definition) {
    if (server().is_wfctl) {
      body["definition"] = *update.definition;
    } else {
      // The reference cannot change a definition: one that would change is refused, an equal
      // one is simply not sent.
      auto current = find_workflow(id);
      if (!current) throw Error(ErrorKind::not_found, fmt::format("workflow {} not found", id));
      if (nlohmann::json(*update.definition) != nlohmann::json(current->definition.json()))
        require(*this, Capability::definition_update, "changing a workflow's definition");
    }
  }
  auto c = json_call("PUT", fmt::format("/{}/", id), body, fmt::format("updating workflow {}", id), call.cancel);
  auto r = send(c);
  if (r.status == 404) throw Error(ErrorKind::not_found, fmt::format("workflow {} not found", id));
  if (r.status != 200) throw error_for(c, r);
  Workflow w = workflow_from_json(parse_body(r, c.what), c.what);
  if (call.before_commit) call.before_commit(w);
  return w;
}

std::vector<WorkflowId> RemoteStore::delete_workflows(const std::vector<WorkflowId>& ids, bool ignore_not_found,
                                                      const WriteCall<std::vector<WorkflowId>>& call) {
  std::vector<WorkflowId> deleted;
  if (ids.empty()) return deleted;
  if (ids.size() == 1) {
    Call c;
    c.method = "DELETE";
    c.path = fmt::format("/{}", ids[0]);
    c.what = fmt::format("deleting workflow {}", ids[0]);
    c.cancel = call.cancel;
    auto r = send(c);
    if (r.status == 404) {
      if (!ignore_not_found) throw Error(ErrorKind::not_found, fmt::format("workflow {} not found", ids[0]));
    } else if (r.status == 200 || r.status == 204) {
      deleted.push_back(ids[0]);
    } else {
      throw error_for(c, r);
    }
  } else {
    require(*this, Capability::multi_object_transactions, "deleting several workflows at once");
    Json body = Json::object();
    body["ids"] = ids;
    body["ignore_not_found"] = ignore_not_found;
    auto c = json_call("POST", "/delete/", body, "deleting " + plural(ids.size(), "workflow"), call.cancel);
    Json j = parse_body(expect(c, {200}), c.what);
    if (!j.is_object() || !j.contains("deleted") || !j["deleted"].is_array())
      throw Error(ErrorKind::unavailable, c.what + ": the server's answer has no \"deleted\" list");
    for (const auto& id : j["deleted"]) deleted.push_back(id.get<WorkflowId>());
  }
  if (call.before_commit && !deleted.empty()) call.before_commit(deleted);
  return deleted;
}

std::vector<ApplyOutcome> RemoteStore::apply_workflows(const std::vector<WorkflowDraft>& drafts,
                                                       const WriteCall<std::vector<ApplyOutcome>>& call) {
  check_unique_keys(drafts);
  std::vector<ApplyOutcome> out;
  if (drafts.empty()) return out;
  if (server().is_wfctl) {
    Json arr = Json::array();
    for (const auto& d : drafts) arr.push_back(workflow_in_json(d));
    auto c = json_call("POST", "/apply/", arr, "applying " + plural(drafts.size(), "workflow"), call.cancel);
    Json j = parse_body(expect(c, {200}), c.what);
    if (!j.is_array()) throw Error(ErrorKind::unavailable, c.what + ": the server's answer is not a list");
    for (const auto& item : j) {
      std::string action = item.is_object() && item.contains("action") && item["action"].is_string()
                               ? item["action"].get<std::string>() : "";
      ApplyAction a = action == "created" ? ApplyAction::created
                      : action == "configured" ? ApplyAction::configured
                      : action == "unchanged" ? ApplyAction::unchanged
                      : throw Error(ErrorKind::unavailable, c.what + ": unknown action '" + action + "'");
      out.push_back(ApplyOutcome{a, workflow_from_json(item["workflow"], c.what)});
    }
  } else {
    // The reference has no apply: look the key up, then create or update. One draft only
    // (several could not be all or nothing).
    if (drafts.size() > 1) require(*this, Capability::multi_object_transactions, "applying several workflows at once");
    const auto& d = drafts[0];
    ListQuery q;
    q.name = d.fields.name;
    q.version = d.fields.version;
    auto matches = list_workflows(q);
    if (matches.size() > 1)
      throw Error(ErrorKind::conflict, fmt::format("workflows {} and {} share name '{}' and version '{}'", matches[0].id,
                                                   matches[1].id, d.fields.name, d.fields.version),
                  "delete one of them, then apply again");
    if (matches.empty()) {
      auto c = json_call("POST", "/", workflow_in_json(d), "creating workflow " + d.fields.name, call.cancel);
      out.push_back({ApplyAction::created, workflow_from_json(parse_body(expect(c, {200, 201}), c.what), c.what)});
    } else {
      const Workflow& current = matches[0];
      ApplyAction a = apply_action(current, d);
      if (a == ApplyAction::unchanged) {
        out.push_back({a, current});
      } else {
        if (nlohmann::json(d.definition) != nlohmann::json(current.definition.json()))
          require(*this, Capability::definition_update, "changing a workflow's definition");
        auto c = json_call("PUT", fmt::format("/{}/", current.id), base_workflow_json(d.fields),
                           fmt::format("updating workflow {}", current.id), call.cancel);
        out.push_back({a, workflow_from_json(parse_body(expect(c, {200}), c.what), c.what)});
      }
    }
  }
  if (call.before_commit) call.before_commit(out);
  return out;
}

JobQueue& RemoteStore::jobs() {
  require(*this, Capability::job_queue, "a job queue");
  return *m_jobs;
}

}  // namespace wfctl::remote
