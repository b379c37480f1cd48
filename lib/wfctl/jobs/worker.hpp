#pragma once
// `wfctl worker`: claims jobs (from the store's queue, or from Kafka messages), runs the
// topic's handler for each, ingests its output like an upload and records the outcome.
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <wfctl/jobs/handler.hpp>
#include <wfctl/jobs/transport.hpp>
#include <wfctl/store/store.hpp>

namespace wfctl {

struct WorkerOptions {
  std::vector<std::string> topics;          // empty: every topic that has a handler
  std::map<std::string, Handler> handlers;  // topic → command; mri_cartesian_reco has a default
  int concurrency = 1;                      // jobs run at once
  bool once = false;                        // return when nothing is queued, running or waiting
  std::chrono::milliseconds lease{30000};   // renewed every third of it while a handler runs
  std::chrono::milliseconds poll{500};      // how often an idle worker looks again
  std::chrono::milliseconds retry_backoff{10000};  // first retry delay; doubles, at most 10 min
  std::chrono::milliseconds kill_grace{5000};      // SIGTERM to a handler, then SIGKILL
  std::chrono::milliseconds grace{30000};   // after a stop request: how long running jobs may finish
  std::string identity;                     // default host:pid
  /// Asked often: 0 to go on; 1 to stop claiming and let running jobs finish (up to `grace`,
  /// then as 2); 2 to stop the handlers now and give their jobs back to the queue. The CLI
  /// passes the count of SIGINT/SIGTERM received.
  std::function<int()> stop_requested;
  /// One line per event: started, succeeded, failed, retried, skipped.
  std::function<void(const std::string&)> log;
};

struct WorkerStats {
  int succeeded = 0, failed = 0, retried = 0, cancelled = 0, released = 0, skipped = 0;
};

/// The handlers a worker runs: the configured ones plus the default of mri_cartesian_reco,
/// limited to `topics` when given. Throws Error(usage) for a requested topic without one.
std::map<std::string, Handler> worker_handlers(const std::vector<std::string>& topics,
                                               const std::map<std::string, Handler>& configured);

/// Runs until `drain` is cancelled (then lets running jobs finish or gives them back) or,
/// with `once`, until the queue is drained. Throws Error(not_supported) for a store without a
/// job queue, Error(unavailable) when the store or the brokers fail.
///
/// A store without a local data lake (a remote store: data_lake_path() is nullopt) gives each
/// attempt a private temporary folder under TMPDIR as its data lake, with the input downloaded
/// to records/RECORD/NAME in it; the folder goes with the attempt, however it ends. A
/// heartbeat or a log append that fails as unavailable (or timed out) does not stop the
/// handler: the next heartbeat tries again (two are left before the lease runs out) and the
/// log notes the bytes it lost. Claims and finishes are not retried: one that fails ends the
/// worker, and the job goes back to the queue when its lease expires.
WorkerStats run_worker(Store& store, Transport& transport, const WorkerOptions& options);

}  // namespace wfctl
