#pragma once
// What users do with jobs, for every front end (the CLI, the worker, `serve` next): submit
// (recorded in the store, then published when the transport is Kafka), retry, wait, follow
// logs. The store keeps each job's state whatever the transport.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <wfctl/jobs/transport.hpp>
#include <wfctl/store/store.hpp>

namespace wfctl {

/// How an upload's job is made.
struct UploadJob {
  bool submit = true;                   // --no-job: false
  std::string topic{k_default_topic};   // --topic
};

/// The reconstruction job an upload of records/RECORD/NAME submits, as the reference does:
/// input = that file, output = records/RECORD/record-RECORD.dcm. Nothing for an upload of
/// the record's own result (record-RECORD.dcm: reconstructing a result makes no sense) or
/// when `how.submit` is false. `external` marks the job pending delivery (Kafka).
std::optional<JobSpec> upload_job(RecordId record, const std::string& name, const UploadJob& how, bool external);

/// Records `spec` as a queued job and, with an external transport, publishes it and waits for
/// the broker's acknowledgement. Throws Error(invalid_input) for a bad spec,
/// Error(not_supported) for a store without a job queue, and Error(unavailable) when the job
/// was recorded but not delivered (then marked delivery failed: `job retry` sends it again).
Job submit_job(Store& store, Transport& transport, JobSpec spec, const Cancel& cancel = {});

/// Publishes a recorded job whose delivery is pending and records the outcome; the job as
/// stored afterwards. Throws Error(unavailable) after recording delivery failed.
Job deliver_job(Store& store, Transport& transport, const Job& job, const Cancel& cancel = {});

/// Retries every id (JobQueue::retry), all or nothing, then sends the jobs the transport
/// carries again; throws as retry() and deliver_job() do.
std::vector<Job> retry_jobs(Store& store, Transport& transport, const std::vector<JobId>& ids,
                            const Cancel& cancel = {});

/// What wait_jobs saw at the end.
struct WaitResult {
  std::vector<Job> jobs;  // in the order asked for
  bool timed_out = false;
  /// True when every job succeeded; false when any failed or was cancelled (or timed out).
  bool all_succeeded() const;
};

/// Polls the jobs until every one is final (or undelivered: it waits for `job retry`) or
/// `timeout` (the whole wait) passed; calls
/// `on_change` with each job whose status, attempts or message changed since the last look
/// (and once for each at the start). Throws Error(not_found) for an id that does not exist,
/// Error(interrupted) once cancelled.
WaitResult wait_jobs(Store& store, const std::vector<JobId>& ids, std::optional<std::chrono::milliseconds> timeout,
                     const std::function<void(const Job&)>& on_change, const Cancel& cancel = {});

/// Writes the job's log to `out` from the start; with `follow`, keeps writing what arrives
/// until the job is final. Throws Error(not_found) for a job that does not exist.
void stream_log(Store& store, JobId id, bool follow, const std::function<void(std::string_view)>& out,
                const Cancel& cancel = {});

/// A job id from the command line ("12"); throws Error(usage) otherwise.
JobId parse_job_id(const std::string& text);

}  // namespace wfctl
