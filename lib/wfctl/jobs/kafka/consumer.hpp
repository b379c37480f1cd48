#pragma once
// A high-level KafkaConsumer in the workers' group, committing by hand: an offset is
// committed only once every message before it is done.
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>
#include <wfctl/jobs/kafka/handles.hpp>
#include <wfctl/jobs/transport.hpp>

namespace wfctl::kafka {

class KafkaSubscription final : public Subscription {
 public:
  /// Joins options.group and subscribes to prefix + each topic. Throws Error(usage) for a
  /// configuration librdkafka refuses, Error(unavailable) when the subscription fails.
  KafkaSubscription(const TransportOptions& options, const std::vector<std::string>& topics);
  /// Commits what is done and leaves the group (each bounded by the timeout, at most 5 s).
  ~KafkaSubscription() override;
  KafkaSubscription(const KafkaSubscription&) = delete;
  KafkaSubscription& operator=(const KafkaSubscription&) = delete;

  std::optional<TransportMessage> poll(std::chrono::milliseconds wait) override;
  void done(const TransportMessage& message) override;
  bool at_end() const override;

 private:
  using Clock = std::chrono::steady_clock;
  using Key = std::pair<std::string, std::int32_t>;  // full topic name, partition
  struct Partition {
    std::set<std::int64_t> outstanding;  // polled, not done yet
    std::int64_t next = -1;              // the offset after the last message polled
    std::int64_t committed = -1;         // the last offset a commit was asked for
    bool eof = false;                    // reached the end since the last message
    /// The offset to commit: the first outstanding one, or the one after the last polled.
    std::int64_t position() const { return outstanding.empty() ? next : *outstanding.begin(); }
  };

  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque);
  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque);
  static void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t*,
                        void* opaque);
  void assigned(rd_kafka_topic_partition_list_t* partitions);
  void revoked(rd_kafka_topic_partition_list_t* partitions);
  // The partitions whose position moved past their last commit (or all of them), marked
  // committed; null when there is nothing to commit. Called with m_mutex held.
  PartitionListPtr commit_list(const std::vector<Key>& keys, bool all);
  // Commits and waits for the broker's answer at most `bound`; false when it did not come.
  bool commit_and_wait(rd_kafka_topic_partition_list_t* list, std::chrono::milliseconds bound);
  // Throws Error(unavailable) when every broker has been down for longer than the timeout.
  void check_brokers();
  void note_error(std::string text);
  std::chrono::milliseconds shutdown_bound() const;

  TransportOptions m_options;
  std::string m_shown;
  mutable std::mutex m_mutex;  // guards the partition state (done() may come from a job's thread)
  std::map<Key, Partition> m_partitions;  // the current assignment
  bool m_assigned_once = false;
  std::optional<Clock::time_point> m_down_since;  // all brokers down since, not seen up again
  std::string m_last_error;
  HandlePtr m_rk;
};

}  // namespace wfctl::kafka
