#pragma once
// The jobs table, private to the local store: shared by its job queue and by the result
// writer, which records an upload's job in the same transaction as the file's row.
#include <optional>

#include <wfctl/jobs/queue.hpp>
#include <wfctl/model/job.hpp>
#include <wfctl/store/local/sqlite.hpp>

namespace wfctl::local {

/// Ends an attempt of the request's worker (see JobQueue::finish) inside the caller's
/// transaction; nullopt, changing nothing, when the job is no longer that worker's.
std::optional<Job> finish_job(sqlite::Database& db, const FinishRequest& request);

/// Sets synchronous = NORMAL on a connection while in scope (before its transaction begins):
/// for changes a power cut may take back because the queue recovers them.
class RelaxedSync {
 public:
  explicit RelaxedSync(sqlite::Database& db);
  ~RelaxedSync();
  RelaxedSync(const RelaxedSync&) = delete;
  RelaxedSync& operator=(const RelaxedSync&) = delete;

 private:
  sqlite::Database& m_db;
};

/// Inserts a queued job (spec checked first: Error(invalid_input)); returns it with its id.
Job insert_job(sqlite::Database& db, const JobSpec& spec);

}  // namespace wfctl::local
