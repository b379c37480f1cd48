#pragma once
// The local store's job queue: the jobs and job_logs tables of wfctl.db. Claims are
// BEGIN IMMEDIATE transactions, so two workers (threads or processes) never claim one job.
#include <wfctl/jobs/queue.hpp>

namespace wfctl::local {

class LocalStore;

class LocalJobQueue final : public JobQueue {
 public:
  explicit LocalJobQueue(LocalStore& store) : m_store(store) {}

  Job submit(const JobSpec& spec, const Cancel& cancel = {}) override;
  std::optional<Job> get(JobId id) override;
  std::vector<Job> list(const JobQuery& query) override;
  std::vector<Job> claim(const ClaimRequest& request) override;
  std::optional<Job> claim_message(const std::string& topic, RecordId record, const std::string& input,
                                   const std::string& message_key, const ClaimRequest& request) override;
  LeaseState heartbeat(JobId id, const std::string& worker, std::chrono::milliseconds lease) override;
  std::optional<Job> finish(const FinishRequest& request) override;
  void release(JobId id, const std::string& worker, const std::string& message) override;
  std::vector<Job> cancel(const std::vector<JobId>& ids, const Cancel& cancel = {}) override;
  std::vector<Job> retry(const std::vector<JobId>& ids, const Cancel& cancel = {}) override;
  Job set_delivery(JobId id, Delivery delivery, const std::optional<std::string>& message) override;
  QueueDepth depth(const std::vector<std::string>& topics, bool transported) override;
  void append_log(JobId id, std::string_view bytes) override;
  std::string read_log(JobId id, std::uint64_t offset) override;

 private:
  LocalStore& m_store;
};

}  // namespace wfctl::local
