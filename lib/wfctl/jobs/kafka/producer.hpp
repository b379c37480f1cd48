#pragma once
// One librdkafka producer: publishes a value and waits for the broker's acknowledgement.
#include <atomic>
#include <mutex>
#include <string>
#include <wfctl/jobs/kafka/handles.hpp>
#include <wfctl/jobs/transport.hpp>

namespace wfctl::kafka {

class Producer {
 public:
  /// A producer of `options` (acks=all, idempotent, message.timeout.ms = options.timeout).
  /// Does not reach the brokers. Throws Error(usage) for a configuration librdkafka refuses.
  explicit Producer(const TransportOptions& options);
  /// Flushes what is still in flight (bounded by the timeout, at most 5 s), then drops it.
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  /// Produces `value` without a key to `topic` and returns once the broker acknowledged it.
  /// Thread-safe. Throws Error(unavailable) when not acknowledged within the timeout (naming
  /// job `id` and librdkafka's reason), Error(permission) when the broker refused access,
  /// and what cancel.check() throws once cancelled.
  void publish(const std::string& topic, const std::string& value, std::int64_t id,
               const Cancel& cancel);
  /// True once librdkafka raised a fatal error: this producer cannot publish any more.
  bool broken() const noexcept { return m_broken.load(); }

 private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque);
  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque);
  std::string reason(rd_kafka_resp_err_t err) const;

  TransportOptions m_options;
  std::string m_shown;
  mutable std::mutex m_mutex;  // guards m_last_error
  std::string m_last_error;    // the last broker error librdkafka reported, for messages
  std::atomic<bool> m_broken{false};
  HandlePtr m_rk;
};

}  // namespace wfctl::kafka
