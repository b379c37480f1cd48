#pragma once
// How jobs travel from a submit to a worker. The local transport is the store's own queue
// (JobQueue::claim); Kafka carries the reference's message ({"record_id": 7, "input": ...},
// no key) to workers on other machines, while the store keeps each job's state.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <wfctl/model/job.hpp>
#include <wfctl/util/cancel.hpp>

namespace wfctl {

/// The transport settings of a context (transport, kafka-* keys).
struct TransportOptions {
  std::string kind = "local";          // "local" or "kafka"
  std::string brokers;                 // kafka: bootstrap.servers
  std::string topic_prefix;            // kafka: prepended to every job topic
  std::string group = "wfctl";         // kafka: the workers' consumer group
  std::optional<std::string> config_file;  // kafka: librdkafka properties (key=value lines), e.g. security
  std::chrono::milliseconds timeout{10000};  // kafka: how long a publish waits for the broker
};

/// One message read from a topic.
struct TransportMessage {
  std::string topic;  // the job topic, the prefix taken off
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string value;
};

/// A worker's consumer: used by one thread.
class Subscription {
 public:
  virtual ~Subscription() = default;
  /// The next message, waiting up to `wait`; nullopt when none came. Throws Error(unavailable)
  /// when the brokers cannot be reached at all.
  virtual std::optional<TransportMessage> poll(std::chrono::milliseconds wait) = 0;
  /// Marks a message done (its job finished, or queued in the store for a retry, or the
  /// message was invalid and skipped). Offsets are committed up to the first message of each
  /// partition that is not done yet, so a crash re-delivers unfinished work, never loses it.
  virtual void done(const TransportMessage& message) = 0;
  /// True once every partition assigned to this consumer has been read to its end (and at
  /// least one assignment happened): `worker --once` stops then.
  virtual bool at_end() const = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  /// "local", or "kafka brokers HOST:PORT" (no credentials).
  virtual std::string describe() const = 0;
  /// False for the local transport: the store's queue is the transport.
  virtual bool external() const = 0;
  /// Publishes reference_message(job) to topic_prefix + job.topic with no key, and returns
  /// once the broker acknowledged it. Throws Error(unavailable) when it was not acknowledged
  /// within the timeout, Error(interrupted) once cancelled.
  virtual void publish(const Job& job, const Cancel& cancel) = 0;
  /// A consumer of `topics` (prefix added) in the configured group. Throws
  /// Error(not_supported) for the local transport.
  virtual std::unique_ptr<Subscription> subscribe(const std::vector<std::string>& topics) = 0;
};

/// Opens the transport the options name; throws Error(usage) for an unknown kind or a kafka
/// transport without brokers.
std::unique_ptr<Transport> open_transport(const TransportOptions& options);

}  // namespace wfctl
