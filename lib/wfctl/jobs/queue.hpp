#pragma once
// The job queue seam: what a store keeps about reconstruction jobs, for every front end (the
// CLI's job commands, the worker, `serve` next). Opened from the same store URL as the
// results: Store::jobs(). The local store keeps it in SQLite (store/local/job_queue.cpp).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <wfctl/model/job.hpp>
#include <wfctl/util/cancel.hpp>

namespace wfctl {

/// Filters of list(); every one optional, results ordered by id.
struct JobQuery {
  std::optional<JobStatus> status;
  std::optional<RecordId> record;
  std::optional<std::string> topic;
  std::optional<std::int64_t> limit;
  std::optional<JobId> after;  // only ids greater than this (paging)
};

/// What a worker asks for when it claims.
struct ClaimRequest {
  std::string worker;                 // host:pid/slot, recorded on the job
  std::vector<std::string> topics;    // empty: every topic
  std::chrono::milliseconds lease{30000};
  std::size_t max = 1;                // claim up to this many at once
  /// Only transported jobs (delivery != local) that ran before: the Kafka worker picks its
  /// due retries and the jobs of dead workers from the store, new work from the topic.
  /// Otherwise only jobs with delivery == local.
  bool transported = false;
};

/// The end of one attempt.
struct FinishRequest {
  JobId id = 0;
  std::string worker;
  bool succeeded = false;
  std::string message;
  /// When the attempt failed and attempts are left, the job is queued again after this long.
  std::chrono::milliseconds retry_after{0};
};

/// What a heartbeat learns.
enum class LeaseState {
  renewed,  // still this worker's job
  lost,     // cancelled, or taken back after the lease expired: stop the handler
};

/// How many jobs are not final: queued now, queued for a retry later, running.
struct QueueDepth {
  std::int64_t queued = 0, waiting = 0, running = 0;
  std::optional<std::chrono::milliseconds> next_retry;  // when the first waiting job is due
  bool empty() const { return queued == 0 && waiting == 0 && running == 0; }
};

/// Thread safety: like Store, one queue object serves many threads; every call is its own
/// transaction. Claiming is atomic across threads and processes: a job is handed to one
/// worker at a time.
class JobQueue {
 public:
  virtual ~JobQueue() = default;

  /// Records a new queued job; throws Error(invalid_input) for a spec check() refuses.
  virtual Job submit(const JobSpec& spec, const Cancel& cancel = {}) = 0;
  /// The job, or nullopt when there is none with this id.
  virtual std::optional<Job> get(JobId id) = 0;
  /// Jobs matching the query, ordered by id; empty when none.
  virtual std::vector<Job> list(const JobQuery& query) = 0;

  /// Hands up to `request.max` due jobs to the worker, oldest first, marking them running
  /// with a lease and counting an attempt. A running job whose lease expired first goes back
  /// to the queue (or fails, when it has no attempts left). Returns an empty list when
  /// nothing is due.
  virtual std::vector<Job> claim(const ClaimRequest& request) = 0;
  /// The Kafka worker's claim of the message `message_key` (topic/partition/offset). A
  /// message seen before (delivered again after a crash or a rebalance) names its own job:
  /// that job is claimed when queued, and nullopt says the message is handled when the job runs
  /// elsewhere or ended. A new message claims the oldest queued transported job of this topic,
  /// record and input that waits for a message, or, with none (a message from ScanHub or
  /// kcat), a new job recorded as delivered. Throws Error(invalid_input) for an input that is
  /// not a file of the record.
  virtual std::optional<Job> claim_message(const std::string& topic, RecordId record, const std::string& input,
                                           const std::string& message_key, const ClaimRequest& request) = 0;
  /// Extends the lease of a running job of `worker`; `lost` once the job was cancelled or
  /// taken back.
  virtual LeaseState heartbeat(JobId id, const std::string& worker, std::chrono::milliseconds lease) = 0;
  /// Ends an attempt of `worker`'s running job: succeeded, failed for good, or queued again
  /// with `retry_at` when attempts are left. Returns the job afterwards, or nullopt when it is
  /// no longer this worker's (cancelled meanwhile); then nothing changes.
  virtual std::optional<Job> finish(const FinishRequest& request) = 0;

  /// Gives a running job of `worker` back to the queue without counting the attempt (a
  /// worker stopping before its handler finished); nothing when it is no longer this
  /// worker's.
  virtual void release(JobId id, const std::string& worker, const std::string& message) = 0;

  /// Cancels every id, all or nothing: queued and running jobs become cancelled (a running
  /// job's worker sees `lost` at its next heartbeat and stops the handler). Throws
  /// Error(not_found) for a missing id, Error(conflict) for a job that already ended
  /// (succeeded or failed; cancelling a cancelled job changes nothing).
  virtual std::vector<Job> cancel(const std::vector<JobId>& ids, const Cancel& cancel = {}) = 0;
  /// Queues failed and cancelled jobs again with their attempts reset, and marks queued jobs
  /// whose delivery failed or never finished as pending again, all or nothing. Throws Error(not_found) for a
  /// missing id, Error(conflict) for a job that is queued, running or succeeded.
  virtual std::vector<Job> retry(const std::vector<JobId>& ids, const Cancel& cancel = {}) = 0;
  /// Records whether the job's message reached the transport.
  virtual Job set_delivery(JobId id, Delivery delivery, const std::optional<std::string>& message) = 0;

  /// Counts the jobs that are not final, for `worker --once` (topics empty: all).
  virtual QueueDepth depth(const std::vector<std::string>& topics, bool transported) = 0;

  /// Appends to the job's log (the handler's stdout and stderr, in the order printed); the
  /// store keeps the first k_log_limit bytes of a job and then one line saying it cut there
  /// (the job's message keeps the tail of stderr). Nothing when there is no such job.
  virtual void append_log(JobId id, std::string_view bytes) = 0;
  /// The log from byte `offset`; empty when there is nothing (yet) past it. Throws
  /// Error(not_found) when there is no such job.
  virtual std::string read_log(JobId id, std::uint64_t offset) = 0;
};

/// The most log a store keeps per job (4 MiB).
inline constexpr std::uint64_t k_log_limit = 4u << 20;

}  // namespace wfctl
