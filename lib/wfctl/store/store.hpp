#pragma once
// The backend seam: one interface, several stores, opened by URL scheme.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <wfctl/model/result.hpp>
#include <wfctl/model/workflow.hpp>
#include <wfctl/util/io.hpp>

namespace wfctl {

/// Filters and order for list_workflows; filtering happens in the backend (SQL locally).
struct ListQuery {
  std::optional<std::string> name, author, version;  // exact matches
  std::string sort_by = "id";  // id | name | version | author | created | updated
  bool descending = false;
  std::optional<std::int64_t> limit;
  bool with_definition = true;
  bool raw_definitions = false;  // fill Workflow::raw_definition instead of parsing
};

/// What apply did with one document.
enum class ApplyAction { created, configured, unchanged };
const char* to_string(ApplyAction a);

struct ApplyOutcome {
  ApplyAction action;
  Workflow workflow;
};

/// Options of put_result.
struct PutOptions {
  bool force = false;  // replace an existing file instead of failing with conflict
  /// Called with the path of the complete temporary file before it becomes visible; throws
  /// to refuse it (nothing is then written). May be empty.
  std::function<void(const std::string& temp_path)> verify;
  /// Called with the stored file's metadata before the upload is committed; throwing from it
  /// stores nothing. May be empty.
  std::function<void(const ResultFile&)> before_commit;
};

/// Thread safety: one Store object may be called from many threads at once (a server's
/// request threads, a worker beside them); each call is independent. The local store leases a
/// SQLite connection per call from a small pool and creates its schema once. Objects a call
/// returns belong to the caller. Hooks (before_commit, progress, on_lock_wait) run on the
/// calling thread, on_lock_wait possibly on several threads at once.
class Store {
 public:
  virtual ~Store() = default;

  /// Every write takes an optional hook, called with what the write did once it is done but
  /// not yet committed; throwing from it stores nothing. The CLI prints there, so that a print
  /// that fails (a full disk, a closed pipe) leaves the store as it was, and a retry neither
  /// duplicates nor finds the work already done.
  template <typename T>
  using BeforeCommit = std::function<void(const T&)>;

  /// Creates every draft in one transaction; returns them with ids; all or nothing.
  virtual std::vector<Workflow> create_workflows(const std::vector<WorkflowDraft>& drafts,
                                                 const BeforeCommit<std::vector<Workflow>>& before_commit = {}) = 0;
  /// The workflow with this id, or nullopt when there is none.
  virtual std::optional<Workflow> find_workflow(WorkflowId id) = 0;
  /// Workflows matching the query; empty when none (or when the store does not exist yet).
  virtual std::vector<Workflow> list_workflows(const ListQuery& query) = 0;
  /// Replaces the meta fields (and the definition when given); throws Error(not_found).
  virtual Workflow update_workflow(WorkflowId id, const WorkflowUpdate& update,
                                   const BeforeCommit<Workflow>& before_commit = {}) = 0;
  /// Deletes all ids in one transaction; a missing id throws Error(not_found) and deletes
  /// nothing unless `ignore_not_found`. Returns the ids actually deleted.
  virtual std::vector<WorkflowId> delete_workflows(const std::vector<WorkflowId>& ids, bool ignore_not_found,
                                                   const BeforeCommit<std::vector<WorkflowId>>& before_commit = {}) = 0;
  /// Upserts every draft keyed by (name, version) in one transaction.
  virtual std::vector<ApplyOutcome> apply_workflows(const std::vector<WorkflowDraft>& drafts,
                                                    const BeforeCommit<std::vector<ApplyOutcome>>& before_commit = {}) = 0;

  /// Streams `source` into records/{record}/{name} atomically, recording size and sha256.
  /// Throws Error(conflict) when the file exists and !opts.force, Error(invalid_input) for an
  /// unsafe name.
  virtual ResultFile put_result(RecordId record, const std::string& name, const ByteSource& source,
                                const PutOptions& opts) = 0;
  /// Files of one record (or of all records), ordered by record then name.
  virtual std::vector<ResultFile> list_results(std::optional<RecordId> record) = 0;
  /// One file's metadata, or nullopt when absent.
  virtual std::optional<ResultFile> find_result(RecordId record, const std::string& name) = 0;
  /// Streams the file to `sink`, verifying its sha256 at the end (Error(internal) naming
  /// both digests on mismatch); throws Error(not_found) when absent.
  virtual ResultFile read_result(RecordId record, const std::string& name, const ByteSink& sink) = 0;
  /// Removes records/{record}/{name}, or with no name every file of the record, from the
  /// data lake and the index, all or nothing; returns what was removed, ordered by name.
  /// Throws Error(not_found) when there is nothing to remove, unless `ignore_not_found`.
  virtual std::vector<ResultFile> delete_results(RecordId record, const std::optional<std::string>& name,
                                                 bool ignore_not_found,
                                                 const BeforeCommit<std::vector<ResultFile>>& before_commit = {}) = 0;
  /// A local path to the stored file when the backend has one (used for DICOM work), or
  /// nullopt when the file must be fetched with read_result.
  virtual std::optional<std::string> local_result_path(RecordId record, const std::string& name) = 0;

  /// A human-readable description of where this store is, credentials redacted.
  virtual std::string describe() const = 0;
  /// False when nothing has ever been stored here (a local store directory that does not
  /// exist yet); reads then behave as on an empty store. Never creates anything.
  virtual bool exists() const = 0;
};

/// Options common to every backend.
struct StoreOptions {
  std::optional<std::string> token_file;  // bearer token for remote stores
  /// How long a write waits for another process's lock before Error(unavailable); Ctrl-C
  /// or SIGTERM ends the wait at once with Error(interrupted). Reads never wait.
  std::chrono::milliseconds lock_timeout{30000};
  /// Called once (with describe()) when a write has waited a second for another process's
  /// lock, so that a person at a terminal knows why nothing happens; may be empty.
  std::function<void(const std::string& store)> on_lock_wait;
};

/// Opens a store by URL: a path or sqlite:PATH (local), http:// or https:// (remote).
/// Throws Error(usage) for an unknown scheme, Error(not_supported) for a known one that is
/// not built in yet.
std::unique_ptr<Store> open_store(std::string_view url, const StoreOptions& options);

}  // namespace wfctl
