#pragma once
// The embedded default store: a SQLite database (wfctl.db) and a data-lake folder
// (records/{id}/…) under one directory.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <sys/types.h>

#include <wfctl/store/local/commit_watch.hpp>
#include <wfctl/store/local/job_queue.hpp>
#include <wfctl/store/local/pool.hpp>
#include <wfctl/store/store.hpp>

namespace wfctl::lake {
class DataLake;
}

namespace wfctl::local {

class LocalStore final : public Store {
 public:
  /// Opens nothing yet: the database is opened on first use, and created only by a write.
  LocalStore(std::filesystem::path root, const StoreOptions& options);
  ~LocalStore() override;

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
  std::vector<ResultFile> delete_results(RecordId record, const std::optional<std::string>& name,
                                         bool ignore_not_found,
                                         const WriteCall<std::vector<ResultFile>>& call = {}) override;
  std::optional<std::string> local_result_path(RecordId record, const std::string& name) override;

  JobQueue& jobs() override { return m_jobs; }
  bool reads_are_local() const override { return true; }
  /// The identity of the database file and the header of its WAL index (CommitWatch).
  std::optional<StoreVersion> data_version() override;
  std::optional<std::string> data_lake_path() const override { return std::filesystem::absolute(m_root).string(); }

  std::string describe() const override;
  bool exists() const override;

  /// The database file path (root/wfctl.db).
  std::filesystem::path database_path() const;

 private:
  friend class LocalResultWriter;
  friend class LocalJobQueue;
  /// A connection for a read: read-only, so it never writes and never waits for a writer;
  /// nullopt when the store does not exist yet or holds no schema (reads then see an empty
  /// store). Never cached as absent: another thread or process may create the store.
  std::optional<Lease> reader();
  /// A read-write connection; the first one creates the store and its schema (once).
  Lease writer();
  std::unique_ptr<sqlite::Database> open_reader();
  std::unique_ptr<sqlite::Database> open_writer();
  lake::DataLake& lake() { return *m_lake; }
  sqlite::LockWait lock_wait() const;
  /// The database's name as SQLite is given it.
  std::string sqlite_name() const;

  const std::filesystem::path m_root;
  const std::string m_database_path;  // m_root / wfctl.db, looked at by every read
  const StoreOptions m_options;
  const std::unique_ptr<lake::DataLake> m_lake;
  ConnectionPool m_readers, m_writers;
  std::mutex m_init;         // held while the first writer creates or migrates the schema
  bool m_initialised = false;
  LocalJobQueue m_jobs{*this};
  // data_version(): a watch of the database file it was opened on (m_watch_dev, m_watch_ino),
  // opened once; until then, tried again at most once a second.
  const sqlite::CommitWatch* watch_for(dev_t dev, ino_t ino);
  std::mutex m_watch_mutex;
  std::unique_ptr<sqlite::CommitWatch> m_watch_owned;
  std::atomic<const sqlite::CommitWatch*> m_watch{nullptr};
  dev_t m_watch_dev{};
  ino_t m_watch_ino{};
  std::chrono::steady_clock::time_point m_watch_retry{};
};

}  // namespace wfctl::local
