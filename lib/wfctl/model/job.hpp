#pragma once
// A reconstruction job: what the reference publishes to Kafka on every upload
// ({"record_id": 7, "input": "records/7/kspace.npy"} on topic mri_cartesian_reco), plus the
// state the reference never keeps: status, attempts, deadline, times, worker, delivery.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <wfctl/model/result.hpp>

namespace wfctl {

using JobId = std::int64_t;

/// The reference's reconstruction topic, and the default of every submit.
inline constexpr std::string_view k_default_topic = "mri_cartesian_reco";

/// Where a job is in its life. A failed attempt with attempts left goes back to queued, with
/// `retry_at` set; failed, succeeded and cancelled are final (retry() starts a final job again).
enum class JobStatus { queued, running, succeeded, failed, cancelled };
/// "queued", "running", ...
std::string_view to_string(JobStatus s) noexcept;
/// Parses a status name; throws Error(usage, "invalid job status 'x'", "use one of: ...").
JobStatus parse_job_status(std::string_view text);
/// Every status name, in the order of the enum (for help and completions).
const std::vector<std::string_view>& job_status_names();
/// True for succeeded, failed and cancelled.
bool is_final(JobStatus s) noexcept;

/// Whether a job's message reached its transport. The local transport is the store's own
/// queue (`local`); with Kafka a job is `pending` until the broker acknowledged it, then
/// `delivered`, or `failed` when it could not be sent (job retry sends it again).
enum class Delivery { local, pending, delivered, failed };
std::string_view to_string(Delivery d) noexcept;

/// What a submit asks for; the store fills in the rest.
struct JobSpec {
  std::string topic{k_default_topic};
  RecordId record_id = 0;
  std::string input;                  // a data-lake path: records/{record}/{name}
  std::optional<std::string> output;  // default: records/{record}/record-{record}.dcm
  int max_attempts = 3;               // 1..100
  std::chrono::seconds deadline{3600};  // how long one attempt may run
  Delivery delivery = Delivery::local;
};

/// A job as stored.
struct Job {
  JobId id = 0;
  std::string topic;
  RecordId record_id = 0;
  std::string input, output;
  JobStatus status = JobStatus::queued;
  int attempts = 0, max_attempts = 3;
  std::int64_t deadline_seconds = 3600;
  std::string datetime_created;                          // naive ISO-8601 UTC, like every time
  std::optional<std::string> datetime_started, datetime_finished;
  std::optional<std::string> retry_at;                   // a queued job waits for this time
  std::optional<std::string> message;                    // why it failed, or what happened
  std::optional<std::string> worker;                     // who runs or ran it: host:pid/slot
  std::optional<std::string> lease_expires;              // a running job's lease
  Delivery delivery = Delivery::local;
};

/// The default output of a record's job: records/{record}/record-{record}.dcm.
std::string default_job_output(RecordId record);

/// Checks a spec; throws Error(invalid_input) naming the field: a topic that is not 1..200 of
/// [A-Za-z0-9._-], an input or output that is not records/{record}/{safe name} of the same
/// record, attempts out of 1..100, a deadline of 0 or past 7 days.
void check(const JobSpec& spec);

/// The job as JSON, keys in a fixed order: id, topic, record_id, input, output, status,
/// attempts, max_attempts, deadline_seconds, datetime_created, datetime_started,
/// datetime_finished, retry_at, message, worker, lease_expires, delivery.
Json to_json(const Job& job);

/// The reference's message value, byte for byte what Python's json.dumps prints for
/// {"record_id": R, "input": I}: ", " and ": " separators, non-ASCII escaped as \uXXXX.
std::string reference_message(RecordId record, std::string_view input);

/// The record and input of a reference message, or nullopt when `value` is not exactly a
/// JSON object with an integer record_id >= 0 and a string input (other keys are ignored).
struct JobMessage {
  RecordId record_id = 0;
  std::string input;
};
std::optional<JobMessage> parse_reference_message(std::string_view value);

}  // namespace wfctl
