#pragma once
// The backend seam: one interface, several stores, opened by URL scheme.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <wfctl/jobs/queue.hpp>
#include <wfctl/model/job.hpp>
#include <wfctl/model/result.hpp>
#include <wfctl/model/workflow.hpp>
#include <wfctl/util/cancel.hpp>
#include <wfctl/util/io.hpp>

namespace wfctl {

/// What a backend can keep. An operation that needs what its backend lacks is refused with
/// Error(not_supported) naming the backend and the operation (see require()); a backend never
/// pretends (a digest it was never sent, a transaction it cannot give).
struct Capabilities {
  bool multi_object_transactions = false;  // create, delete and apply of several workflows, all or nothing
  bool result_listing = false;             // list the files of a record
  bool arbitrary_result_names = false;     // result files other than record-{id}.dcm
  bool stored_digests = false;             // keeps each file's sha256, verified on every read
  bool definition_update = false;          // update may replace a definition
  bool result_deletion = false;            // remove result files
  bool job_queue = false;                  // submit and claim reconstruction jobs
};

enum class Capability {
  multi_object_transactions,
  result_listing,
  arbitrary_result_names,
  stored_digests,
  definition_update,
  result_deletion,
  job_queue,
};

/// Whether `caps` holds `c`.
bool has(const Capabilities& caps, Capability c) noexcept;

/// Orders of list_workflows, shared by every backend.
enum class SortKey { id, name, version, author, created, updated };
/// The name users give a sort key ("id", "created", ...).
std::string_view to_string(SortKey key) noexcept;
/// Every sort key's name, in the order of the enum (for help and completions).
const std::vector<std::string_view>& sort_key_names();
/// Parses a sort key name; throws Error(invalid_input, "invalid sort key 'x'", "use one of:
/// ...") with the item loc ["query", "sort_by"].
SortKey parse_sort_key(std::string_view name);

/// Filters and order for list_workflows; filtering happens in the backend (SQL locally).
struct ListQuery {
  std::optional<std::string> name, author, version;  // exact matches
  SortKey sort_by = SortKey::id;
  bool descending = false;                           // ties are broken by id, in the same direction
  std::optional<std::int64_t> limit;                 // at least 0
  std::optional<std::int64_t> offset;                // skip this many first (at least 0)
  bool with_definition = true;
};
/// Throws Error(invalid_input) for a negative limit or offset.
void check(const ListQuery& query);

struct ApplyOutcome {
  ApplyAction action;
  Workflow workflow;
};

/// Called with what a write did once it is done but not yet committed; throwing from it
/// stores nothing. The CLI prints there, so that a print that fails (a full disk, a closed
/// pipe) leaves the store as it was, and a retry neither duplicates nor finds the work done.
template <typename T>
using BeforeCommit = std::function<void(const T&)>;

/// What every write call carries: its cancellation token (which also ends a wait for
/// another writer's lock) and an optional before-commit hook.
template <typename T>
struct WriteCall {
  Cancel cancel;
  BeforeCommit<T> before_commit;
};

/// Options of write_result.
struct ResultWriteOptions {
  bool force = false;  // replace an existing file instead of failing with conflict
  Cancel cancel;       // checked between chunks, and while waiting for a lock at commit
  /// A job to submit with the file, in the same transaction as its index entry (the
  /// reference's upload → reconstruction): the file never exists without its job, nor the
  /// job without its file. Needs the job_queue capability.
  std::optional<JobSpec> job;
  /// The end of the job attempt whose output this file is (the worker's), recorded in the
  /// same transaction: a job has succeeded exactly when its output is stored. commit() throws
  /// Error(conflict) and stores nothing when the job is no longer that worker's (cancelled
  /// meanwhile). The file itself is made durable as always; its index row and the job's state
  /// then commit without waiting for the disk (after a power cut the lake is indexed again
  /// and the job runs again). Needs the job_queue capability.
  std::optional<FinishRequest> finish_job;
};

/// One result file being written: write chunks (or a whole source), then commit() or
/// destroy it. Destroyed without commit(), it leaves nothing behind. Used by one thread.
class ResultWriter {
 public:
  virtual ~ResultWriter() = default;
  /// Appends bytes; throws Error (a full disk, Error(interrupted) once cancelled).
  virtual void write(const char* data, std::size_t size) = 0;
  /// Appends everything `source` holds; a backend may copy a regular file in the kernel.
  /// The default reads the source in 1 MiB chunks into write().
  virtual void write_from(const ByteSource& source);
  /// Makes the file visible at records/{record}/{name}, atomically, with its metadata;
  /// `before_commit` runs first (throwing from it stores nothing). Throws Error(conflict)
  /// when the file appeared meanwhile and !force.
  virtual ResultFile commit(const BeforeCommit<ResultFile>& before_commit = {}) = 0;
  /// The job submitted (ResultWriteOptions::job) or finished (finish_job) with the file: set
  /// once commit() recorded it, so before_commit can see it; nullopt without one.
  virtual std::optional<Job> job() const { return std::nullopt; }
};

/// A version of what a store's reads return: two equal versions, taken at two moments, mean
/// that nothing was committed to its workflows, results or jobs in between (files of the data
/// lake aside). Opaque words, only compared.
struct StoreVersion {
  std::array<std::uint64_t, 8> words{};
  bool operator==(const StoreVersion&) const = default;
};

/// Thread safety: one Store object may be called from many threads at once (a server's
/// request threads, a worker beside them); each call is independent. The local store leases a
/// SQLite connection per call from a small pool and creates its schema once. Objects a call
/// returns belong to the caller. Hooks (before_commit, progress, on_lock_wait) run on the
/// calling thread, on_lock_wait possibly on several threads at once.
class Store {
 public:
  virtual ~Store() = default;

  /// What this backend can keep.
  virtual const Capabilities& capabilities() const = 0;

  /// Creates every draft, all or nothing; returns them with ids.
  virtual std::vector<Workflow> create_workflows(const std::vector<WorkflowDraft>& drafts,
                                                 const WriteCall<std::vector<Workflow>>& call = {}) = 0;
  /// The workflow with this id, or nullopt when there is none.
  virtual std::optional<Workflow> find_workflow(WorkflowId id) = 0;
  /// Workflows matching the query; empty when none (or when the store does not exist yet).
  /// Throws Error(invalid_input) for a query check() refuses.
  virtual std::vector<Workflow> list_workflows(const ListQuery& query) = 0;
  /// Replaces the meta fields (and the definition when given); throws Error(not_found).
  virtual Workflow update_workflow(WorkflowId id, const WorkflowUpdate& update,
                                   const WriteCall<Workflow>& call = {}) = 0;
  /// Deletes every id, all or nothing; a missing id throws Error(not_found) and deletes
  /// nothing unless `ignore_not_found`. Returns the ids actually deleted.
  virtual std::vector<WorkflowId> delete_workflows(const std::vector<WorkflowId>& ids, bool ignore_not_found,
                                                   const WriteCall<std::vector<WorkflowId>>& call = {}) = 0;
  /// Upserts every draft keyed by (name, version), all or nothing (see apply_action());
  /// throws Error(conflict) when two drafts or two stored workflows share a key.
  virtual std::vector<ApplyOutcome> apply_workflows(const std::vector<WorkflowDraft>& drafts,
                                                    const WriteCall<std::vector<ApplyOutcome>>& call = {}) = 0;

  /// Starts writing records/{record}/{name}. Throws Error(invalid_input) for an unsafe name
  /// or record id, Error(conflict) when the file exists and !options.force (checked again
  /// at commit).
  virtual std::unique_ptr<ResultWriter> write_result(RecordId record, const std::string& name,
                                                     const ResultWriteOptions& options) = 0;
  /// Files of one record (or of all records), ordered by record then name.
  virtual std::vector<ResultFile> list_results(std::optional<RecordId> record) = 0;
  /// One file's metadata, or nullopt when absent.
  virtual std::optional<ResultFile> find_result(RecordId record, const std::string& name) = 0;
  /// Streams the file to `sink`. With stored digests, verifies the file's sha256 at the end
  /// (Error(internal) naming both digests on a mismatch); without, `sha256` of the result is
  /// empty. Throws Error(not_found) when absent, Error(interrupted) once cancelled.
  virtual ResultFile read_result(RecordId record, const std::string& name, const ByteSink& sink,
                                 const Cancel& cancel = {}) = 0;
  /// Removes records/{record}/{name}, or with no name every file of the record, all or
  /// nothing; returns what was removed, ordered by name. Throws Error(not_found) when there
  /// is nothing to remove, unless `ignore_not_found`.
  virtual std::vector<ResultFile> delete_results(RecordId record, const std::optional<std::string>& name,
                                                 bool ignore_not_found,
                                                 const WriteCall<std::vector<ResultFile>>& call = {}) = 0;
  /// Streams the record's DICOM result (record-{record}.dcm) as the reference's image route
  /// serves it; the default is read_result of that name.
  virtual ResultFile read_image(RecordId record, const ByteSink& sink, const Cancel& cancel = {});
  /// A local path to the stored file when the backend has one (used for DICOM work), or
  /// nullopt when the file must be fetched with read_result.
  virtual std::optional<std::string> local_result_path(RecordId record, const std::string& name) = 0;

  /// The folder that holds records/ when the data lake is on this machine (a handler's
  /// {data_lake}), or nullopt.
  virtual std::optional<std::string> data_lake_path() const { return std::nullopt; }

  /// True when a read (find, list) waits on nothing but this machine's disk: no network, no
  /// lock held by others. A server answers such reads on its I/O threads.
  virtual bool reads_are_local() const { return false; }

  /// The version of the store now, when the backend can tell it without a read (a server keys
  /// the answers it keeps on it); nullopt when it cannot, or not at this moment. Safe from any
  /// thread, and cheap: one system call at most.
  virtual std::optional<StoreVersion> data_version() { return std::nullopt; }

  /// The store's job queue; throws Error(not_supported) unless the store has job_queue.
  virtual JobQueue& jobs();

  /// True when every upload submits the reference's reconstruction job whatever it is asked
  /// (a ScanHub reference server publishes one per upload): an upload without a job, or with
  /// another topic, cannot be had there.
  virtual bool uploads_always_submit_jobs() const { return false; }

  /// A human-readable description of where this store is, credentials redacted.
  virtual std::string describe() const = 0;
  /// False when nothing has ever been stored here (a local store directory that does not
  /// exist yet); reads then behave as on an empty store. Never creates anything.
  virtual bool exists() const = 0;
};

/// Throws Error(not_supported, "<operation> is not supported by store <describe()>") unless
/// the store has `c`.
void require(const Store& store, Capability c, std::string_view operation);

/// How a remote store talks HTTP (ignored by local stores).
struct HttpOptions {
  std::optional<std::string> token;       // a bearer token itself (WFCTL_TOKEN); wins over token_file
  std::optional<std::string> ca_file;     // PEM CA bundle instead of the system's
  bool insecure = false;                  // skip TLS verification
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds timeout{0};   // one whole request; 0: none
  std::chrono::milliseconds idle_timeout{30000};  // no byte moved for this long
  int max_attempts = 4;                   // of an idempotent request (GET, HEAD, PUT, DELETE)
};

/// Options common to every backend.
struct StoreOptions {
  std::optional<std::string> token_file;  // bearer token for remote stores
  HttpOptions http;
  /// How long a write waits for another writer's lock before Error(unavailable); the write's
  /// cancellation token ends the wait at once with Error(interrupted). Reads never wait.
  std::chrono::milliseconds lock_timeout{30000};
  /// Called once (with describe()) when a write has waited a second for another process's
  /// lock, so that a person at a terminal knows why nothing happens; may be empty.
  std::function<void(const std::string& store)> on_lock_wait;
  /// The store's own token, beside each call's: every call stops once it is cancelled (the
  /// CLI passes Cancel::on_signal(); a server, its shutdown).
  Cancel cancel;
};

/// Opens a store by URL: a path or sqlite:PATH (local), http:// or https:// (remote).
/// Throws Error(usage) for an unknown scheme, Error(not_supported) for a known one that is
/// not built in yet.
std::unique_ptr<Store> open_store(std::string_view url, const StoreOptions& options);

}  // namespace wfctl
