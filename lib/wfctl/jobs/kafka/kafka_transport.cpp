// The Kafka transport: a lazily created producer shared by every publish, and one consumer
// per subscription.
#include <mutex>
#include <wfctl/jobs/kafka/consumer.hpp>
#include <wfctl/jobs/kafka/kafka_transport.hpp>
#include <wfctl/jobs/kafka/producer.hpp>
#include <wfctl/jobs/kafka/properties.hpp>

namespace wfctl::kafka {

namespace {

class KafkaTransport final : public Transport {
 public:
  explicit KafkaTransport(const TransportOptions& options)
      : m_options(options), m_shown(shown_brokers(options.brokers)) {}

  std::string describe() const override { return "kafka brokers " + m_shown; }
  bool external() const override { return true; }

  void publish(const Job& job, const Cancel& cancel) override {
    producer()->publish(m_options.topic_prefix + job.topic,
                        reference_message(job.record_id, job.input), job.id, cancel);
  }

  std::unique_ptr<Subscription> subscribe(const std::vector<std::string>& topics) override {
    return std::make_unique<KafkaSubscription>(m_options, topics);
  }

 private:
  // The one producer, made on first use and again after a fatal error; a publish still
  // waiting on the old one keeps it alive.
  std::shared_ptr<Producer> producer() {
    std::lock_guard lock(m_mutex);
    if (!m_producer || m_producer->broken()) m_producer = std::make_shared<Producer>(m_options);
    return m_producer;
  }

  TransportOptions m_options;
  std::string m_shown;
  std::mutex m_mutex;
  std::shared_ptr<Producer> m_producer;
};

}  // namespace

std::unique_ptr<Transport> make_transport(const TransportOptions& options) {
  // Reads and checks the properties file now, so a bad one fails before any job is stored.
  make_conf(options, {});
  return std::make_unique<KafkaTransport>(options);
}

}  // namespace wfctl::kafka
