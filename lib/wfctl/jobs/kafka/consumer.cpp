// The workers' consumer: manual commits of contiguous done offsets, rebalances, partition
// ends for `worker --once`, and "all brokers down" turned into Error(unavailable).
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <wfctl/error.hpp>
#include <wfctl/jobs/kafka/consumer.hpp>
#include <wfctl/jobs/kafka/properties.hpp>
#include <wfctl/util/duration.hpp>

namespace wfctl::kafka {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds k_step{100};

int to_int_ms(milliseconds d) {
  return static_cast<int>(std::clamp<milliseconds::rep>(d.count(), 0, 2'147'483'647));
}

bool cooperative(rd_kafka_t* rk) {
  const char* protocol = rd_kafka_rebalance_protocol(rk);
  return protocol && std::strcmp(protocol, "COOPERATIVE") == 0;
}

}  // namespace

KafkaSubscription::KafkaSubscription(const TransportOptions& options,
                                     const std::vector<std::string>& topics)
    : m_options(options), m_shown(shown_brokers(options.brokers)) {
  auto conf = make_conf(options, {{"group.id", options.group},
                                  {"enable.auto.commit", "false"},
                                  {"enable.auto.offset.store", "false"},
                                  {"auto.offset.reset", "earliest"},
                                  {"enable.partition.eof", "true"}});
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_rebalance_cb(conf.get(), on_rebalance);
  rd_kafka_conf_set_error_cb(conf.get(), on_error);
  rd_kafka_conf_set_offset_commit_cb(conf.get(), on_commit);
  char errstr[512] = "";
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof errstr);
  if (!rk) throw Error(ErrorKind::usage, fmt::format("cannot create a kafka consumer: {}", errstr));
  conf.release();  // rd_kafka_new took it over
  m_rk.reset(rk);
  // Errors and rebalances are then served by rd_kafka_consumer_poll.
  rd_kafka_poll_set_consumer(rk);

  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& topic : topics)
    rd_kafka_topic_partition_list_add(list.get(), (options.topic_prefix + topic).c_str(),
                                      RD_KAFKA_PARTITION_UA);
  if (auto err = rd_kafka_subscribe(rk, list.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw Error(ErrorKind::unavailable,
                fmt::format("cannot subscribe to kafka brokers {}: {}", m_shown, error_text(err)));
}

KafkaSubscription::~KafkaSubscription() {
  auto bound = shutdown_bound();
  PartitionListPtr list;
  {
    std::lock_guard lock(m_mutex);
    list = commit_list({}, true);
  }
  if (list) commit_and_wait(list.get(), bound);

  // rd_kafka_consumer_close() could wait without bound for a coordinator that is gone: close
  // through a queue and give up after the bound.
  QueuePtr queue(rd_kafka_queue_new(m_rk.get()));
  KafkaErrorPtr error(rd_kafka_consumer_close_queue(m_rk.get(), queue.get()));
  auto deadline = Clock::now() + bound;
  while (!error && !rd_kafka_consumer_closed(m_rk.get()) && Clock::now() < deadline)
    rd_kafka_queue_poll_callback(queue.get(), static_cast<int>(k_step.count()));
  bool closed = rd_kafka_consumer_closed(m_rk.get());
  queue.reset();
  if (!closed) rd_kafka_destroy_flags(m_rk.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

milliseconds KafkaSubscription::shutdown_bound() const {
  return std::min(m_options.timeout, milliseconds(5000));
}

void KafkaSubscription::on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                     rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* self = static_cast<KafkaSubscription*>(opaque);
  bool incremental = cooperative(rk);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    self->assigned(partitions);
    if (incremental)
      KafkaErrorPtr(rd_kafka_incremental_assign(rk, partitions));
    else
      rd_kafka_assign(rk, partitions);
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    self->revoked(partitions);
  } else {
    self->note_error(fmt::format("rebalance failed: {}", error_text(err)));
    self->revoked(nullptr);
  }
  if (incremental && partitions)
    KafkaErrorPtr(rd_kafka_incremental_unassign(rk, partitions));
  else
    rd_kafka_assign(rk, nullptr);
}

void KafkaSubscription::assigned(rd_kafka_topic_partition_list_t* partitions) {
  std::lock_guard lock(m_mutex);
  for (int i = 0; i < partitions->cnt; ++i)
    m_partitions[{partitions->elems[i].topic, partitions->elems[i].partition}] = Partition{};
  m_assigned_once = true;
  m_down_since.reset();
}

void KafkaSubscription::revoked(rd_kafka_topic_partition_list_t* partitions) {
  std::vector<Key> keys;
  PartitionListPtr list;
  {
    std::lock_guard lock(m_mutex);
    if (partitions)
      for (int i = 0; i < partitions->cnt; ++i)
        keys.emplace_back(partitions->elems[i].topic, partitions->elems[i].partition);
    else
      for (const auto& [key, _] : m_partitions) keys.push_back(key);
    // A lost assignment belongs to another member already: its commits would be refused.
    if (!rd_kafka_assignment_lost(m_rk.get())) list = commit_list(keys, false);
    // The new owner gets the outstanding messages again; done() forgets them here.
    for (const auto& key : keys) m_partitions.erase(key);
  }
  if (list) commit_and_wait(list.get(), shutdown_bound());
}

PartitionListPtr KafkaSubscription::commit_list(const std::vector<Key>& keys, bool all) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  auto add = [&](const Key& key, Partition& p) {
    auto pos = p.position();
    if (pos < 0 || (!all && pos <= p.committed)) return;
    rd_kafka_topic_partition_list_add(list.get(), key.first.c_str(), key.second)->offset = pos;
    p.committed = std::max(p.committed, pos);
  };
  if (all) {
    for (auto& [key, p] : m_partitions) add(key, p);
  } else {
    for (const auto& key : keys)
      if (auto it = m_partitions.find(key); it != m_partitions.end()) add(key, it->second);
  }
  if (list->cnt == 0) return nullptr;
  return list;
}

bool KafkaSubscription::commit_and_wait(rd_kafka_topic_partition_list_t* list, milliseconds bound) {
  QueuePtr queue(rd_kafka_queue_new(m_rk.get()));
  auto err = rd_kafka_commit_queue(m_rk.get(), list, queue.get(), nullptr, nullptr);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    note_error(fmt::format("commit failed: {}", error_text(err)));
    return false;
  }
  auto deadline = Clock::now() + bound;
  while (Clock::now() < deadline) {
    EventPtr event(rd_kafka_queue_poll(queue.get(), static_cast<int>(k_step.count())));
    if (!event || rd_kafka_event_type(event.get()) != RD_KAFKA_EVENT_OFFSET_COMMIT) continue;
    if (auto e = rd_kafka_event_error(event.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      note_error(fmt::format("commit failed: {}", error_text(e)));
      return false;
    }
    return true;
  }
  note_error("commit not answered in time");
  return false;
}

void KafkaSubscription::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<KafkaSubscription*>(opaque);
  std::string text = reason;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512] = "";
    rd_kafka_fatal_error(rk, buf, sizeof buf);
    text = buf;
  }
  std::lock_guard lock(self->m_mutex);
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && !self->m_down_since)
    self->m_down_since = Clock::now();
  // "1/1 brokers are down" says less than the connection error that came before it.
  if (err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || self->m_last_error.empty())
    self->m_last_error = std::move(text);
}

void KafkaSubscription::on_commit(rd_kafka_t*, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t*, void* opaque) {
  // A failed commit is made again when the consumer closes or the partition is revoked.
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
    static_cast<KafkaSubscription*>(opaque)->note_error(
        fmt::format("commit failed: {}", error_text(err)));
}

void KafkaSubscription::note_error(std::string text) {
  std::lock_guard lock(m_mutex);
  m_last_error = std::move(text);
}

void KafkaSubscription::check_brokers() {
  std::string last;
  {
    std::lock_guard lock(m_mutex);
    if (!m_down_since || Clock::now() - *m_down_since <= m_options.timeout) return;
    last = m_last_error;
  }
  // No callback says that a broker is back: ask one.
  const rd_kafka_metadata_t* metadata = nullptr;
  auto err = rd_kafka_metadata(m_rk.get(), 0, nullptr, &metadata, 1000);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_metadata_destroy(metadata);
    std::lock_guard lock(m_mutex);
    m_down_since.reset();
    return;
  }
  throw Error(
      ErrorKind::unavailable,
      fmt::format("kafka brokers {} unreachable for more than {}: {}", m_shown,
                  format_duration(m_options.timeout), last.empty() ? error_text(err) : last));
}

std::optional<TransportMessage> KafkaSubscription::poll(milliseconds wait) {
  auto deadline = Clock::now() + wait;
  for (;;) {
    check_brokers();
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    MessagePtr m(rd_kafka_consumer_poll(m_rk.get(), to_int_ms(std::min(left, k_step))));
    if (m) {
      std::string topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
      Key key{topic, m->partition};
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        {
          std::lock_guard lock(m_mutex);
          auto& p = m_partitions[key];
          p.outstanding.insert(m->offset);
          p.next = std::max(p.next, m->offset + 1);
          p.eof = false;
          m_down_since.reset();
        }
        TransportMessage out;
        const auto& prefix = m_options.topic_prefix;
        out.topic = topic.starts_with(prefix) ? topic.substr(prefix.size()) : topic;
        out.partition = m->partition;
        out.offset = m->offset;
        if (m->payload) out.value.assign(static_cast<const char*>(m->payload), m->len);
        return out;
      }
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        std::lock_guard lock(m_mutex);
        if (auto it = m_partitions.find(key); it != m_partitions.end()) it->second.eof = true;
        m_down_since.reset();
      } else if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512] = "";
        rd_kafka_fatal_error(m_rk.get(), buf, sizeof buf);
        throw Error(ErrorKind::unavailable,
                    fmt::format("kafka consumer of brokers {} failed: {}", m_shown, buf));
      } else {
        // A topic not there yet, a partition error: librdkafka retries by itself.
        note_error(rd_kafka_message_errstr(m.get()));
      }
    }
    if (Clock::now() >= deadline) return std::nullopt;
  }
}

void KafkaSubscription::done(const TransportMessage& message) {
  PartitionListPtr list;
  {
    std::lock_guard lock(m_mutex);
    Key key{m_options.topic_prefix + message.topic, message.partition};
    auto it = m_partitions.find(key);
    // A revoked partition's messages belong to its new owner now.
    if (it == m_partitions.end() || it->second.outstanding.erase(message.offset) == 0) return;
    list = commit_list({key}, false);
  }
  if (!list) return;
  if (auto err = rd_kafka_commit(m_rk.get(), list.get(), 1); err != RD_KAFKA_RESP_ERR_NO_ERROR)
    note_error(fmt::format("commit failed: {}", error_text(err)));
}

bool KafkaSubscription::at_end() const {
  std::lock_guard lock(m_mutex);
  if (!m_assigned_once || m_partitions.empty()) return false;
  return std::all_of(m_partitions.begin(), m_partitions.end(),
                     [](const auto& kv) { return kv.second.eof && kv.second.outstanding.empty(); });
}

}  // namespace wfctl::kafka
