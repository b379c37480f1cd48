#pragma once
// Owners of librdkafka's C objects, private to this folder (librdkafka stays out of every
// public header). The rd_kafka_t handle itself is owned by Producer and KafkaSubscription,
// which each shut it down their own way (flush, consumer close) before destroying it.
#include <librdkafka/rdkafka.h>

#include <memory>

namespace wfctl::kafka {

struct ConfDelete {
  void operator()(rd_kafka_conf_t* c) const noexcept { rd_kafka_conf_destroy(c); }
};
/// A configuration not yet given to rd_kafka_new (which takes it over on success).
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDelete>;

struct HandleDelete {
  void operator()(rd_kafka_t* rk) const noexcept { rd_kafka_destroy(rk); }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDelete>;

struct PartitionListDelete {
  void operator()(rd_kafka_topic_partition_list_t* l) const noexcept {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDelete>;

struct MessageDelete {
  void operator()(rd_kafka_message_t* m) const noexcept { rd_kafka_message_destroy(m); }
};
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDelete>;

struct QueueDelete {
  void operator()(rd_kafka_queue_t* q) const noexcept { rd_kafka_queue_destroy(q); }
};
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDelete>;

struct EventDelete {
  void operator()(rd_kafka_event_t* e) const noexcept { rd_kafka_event_destroy(e); }
};
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDelete>;

struct KafkaErrorDelete {
  void operator()(rd_kafka_error_t* e) const noexcept { rd_kafka_error_destroy(e); }
};
using KafkaErrorPtr = std::unique_ptr<rd_kafka_error_t, KafkaErrorDelete>;

}  // namespace wfctl::kafka
