#pragma once
// The remote backend: a Store over the ScanHub workflow-manager REST contract
// (shared/reference/scanhub-api.md), plus the extensions of `wfctl serve` (docs/serve-api.md)
// when the server describes itself as wfctl. HTTP goes through net::HttpClient (libcurl in
// wfctl-curl.so); no curl type appears here.
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include <wfctl/net/http_client.hpp>
#include <wfctl/store/remote/protocol.hpp>
#include <wfctl/store/store.hpp>

namespace wfctl::remote {

/// Opens a remote store on `url` (http(s)://HOST[:PORT][/prefix]); nothing is sent yet.
/// Throws Error(usage) for a bad URL (credentials in it included) or an unreadable token
/// file.
std::unique_ptr<Store> open_remote_store(std::string_view url, const StoreOptions& options);

/// One HTTP call of the remote store.
struct Call {
  std::string method = "GET";
  std::string path;   // below the prefix: "/", "/7", "/upload/7/"
  std::string query;  // "force=false&job=true", without '?'
  net::Body body;
  std::string what;   // how messages name the operation ("workflow 7")
  const WriteFn* sink = nullptr;      // a 2xx body goes here
  net::HeadersFn on_headers;
  std::function<void(const net::TransferProgress&)> progress;
  Cancel cancel;
};

class RemoteJobQueue;

/// Thread safety: like every Store; the HTTP client keeps a pool of connections and the
/// server's description is fetched once, on first need, under a lock.
class RemoteStore final : public Store {
 public:
  RemoteStore(RemoteUrl url, const StoreOptions& options, std::optional<std::string> token);
  ~RemoteStore() override;

  const Capabilities& capabilities() const override;

  std::vector<Workflow> create_workflows(const std::vector<WorkflowDraft>& drafts,
                                         const WriteCall<std::vector<Workflow>>& call = {}) override;
  std::optional<Workflow> find_workflow(WorkflowId id) override;
  std::vector<Workflow> list_workflows(const ListQuery& query) override;
  Workflow update_workflow(WorkflowId id, const WorkflowUpdate& update, const WriteCall<Workflow>& call = {}) override;
  std::vector<WorkflowId> delete_workflows(const std::vector<WorkflowId>& ids, bool ignore_not_found,
                                           const WriteCall<std::vector<WorkflowId>>& call = {}) override;
  std::vector<ApplyOutcome> apply_workflows(const std::vector<WorkflowDraft>& drafts,
                                            const WriteCall<std::vector<ApplyOutcome>>& call = {}) override;

  std::unique_ptr<ResultWriter> write_result(RecordId record, const std::string& name,
                                             const ResultWriteOptions& options) override;
  std::vector<ResultFile> list_results(std::optional<RecordId> record) override;
  std::optional<ResultFile> find_result(RecordId record, const std::string& name) override;
  ResultFile read_result(RecordId record, const std::string& name, const ByteSink& sink,
                         const Cancel& cancel = {}) override;
  ResultFile read_image(RecordId record, const ByteSink& sink, const Cancel& cancel = {}) override;
  std::vector<ResultFile> delete_results(RecordId record, const std::optional<std::string>& name, bool ignore_not_found,
                                         const WriteCall<std::vector<ResultFile>>& call = {}) override;
  std::optional<std::string> local_result_path(RecordId, const std::string&) override { return std::nullopt; }

  JobQueue& jobs() override;
  bool uploads_always_submit_jobs() const override { return !server().is_wfctl; }

  std::string describe() const override { return m_url.base(); }
  bool exists() const override { return true; }

  /// The server's description (GET P/server), fetched once.
  const ServerInfo& server() const;
  /// Sends a call, retrying an idempotent one on a connection failure, 429, 502, 503 and
  /// 504 (honouring Retry-After) while no body byte reached its sink. Returns any complete
  /// response (an error status too); throws TransportError after the last attempt.
  net::Response send(const Call& call) const;
  /// send(), then throws error_for_response() unless the status is one of `ok`.
  net::Response expect(const Call& call, std::initializer_list<long> ok) const;
  /// The error for a response to `call`.
  Error error_for(const Call& call, const net::Response& r) const;
  /// Throws Error(not_supported) naming the operation unless the server is wfctl serve.
  void require_wfctl(std::string_view operation) const;

  /// Deletes workflows just created whose before-commit hook refused; never throws.
  void undo_creates(const std::vector<Workflow>& created) noexcept;

 private:
  RemoteUrl m_url;
  StoreOptions m_options;
  std::optional<std::string> m_token;
  std::unique_ptr<net::HttpClient> m_client;
  mutable std::once_flag m_server_once;
  mutable std::optional<ServerInfo> m_server;
  mutable std::mutex m_rng_mutex;
  mutable std::mt19937_64 m_rng;
  std::unique_ptr<RemoteJobQueue> m_jobs;
};

/// The job queue of a wfctl server: what the CLI's job commands and a worker of the local
/// queue call (POST P/jobs/claim/, .../heartbeat, .../finish, ...). The Kafka worker's calls
/// (claim_message, set_delivery, transported claims) are refused with Error(not_supported):
/// the server delivers through its own transport.
class RemoteJobQueue final : public JobQueue {
 public:
  explicit RemoteJobQueue(RemoteStore& store) : m_store(store) {}
  Job submit(const JobSpec& spec, const Cancel& cancel = {}) override;
  std::optional<Job> get(JobId id) override;
  std::vector<Job> list(const JobQuery& query) override;
  std::vector<Job> claim(const ClaimRequest&) override;
  std::optional<Job> claim_message(const std::string&, RecordId, const std::string&, const std::string&,
                                   const ClaimRequest&) override;
  LeaseState heartbeat(JobId, const std::string&, std::chrono::milliseconds) override;
  std::optional<Job> finish(const FinishRequest&) override;
  void release(JobId, const std::string&, const std::string&) override;
  std::vector<Job> cancel(const std::vector<JobId>& ids, const Cancel& cancel = {}) override;
  std::vector<Job> retry(const std::vector<JobId>& ids, const Cancel& cancel = {}) override;
  Job set_delivery(JobId, Delivery, const std::optional<std::string>&) override;
  QueueDepth depth(const std::vector<std::string>&, bool) override;
  void append_log(JobId, std::string_view) override;
  std::string read_log(JobId id, std::uint64_t offset) override;

 private:
  [[noreturn]] void worker_side(std::string_view operation) const;
  RemoteStore& m_store;
};

// The JSON of the wire (wire.cpp): the reference's shapes and the library's to_json orders.
Workflow workflow_from_json(const Json& j, std::string_view what);
ResultFile result_from_json(const Json& j, std::string_view what);
Job job_from_json(const Json& j, std::string_view what);
Json workflow_in_json(const WorkflowDraft& d);
Json base_workflow_json(const WorkflowFields& f);
/// The body of a response as JSON; throws Error(unavailable) naming `what` when it is not.
Json parse_body(const net::Response& r, std::string_view what);

/// The workflows a reference server listed, filtered, sorted and paged as `query` says,
/// exactly as the local store's SQL does it.
std::vector<Workflow> apply_query(std::vector<Workflow> all, const ListQuery& query);

}  // namespace wfctl::remote
