// Publishing one job message and waiting for its delivery report.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <wfctl/error.hpp>
#include <wfctl/jobs/kafka/producer.hpp>
#include <wfctl/jobs/kafka/properties.hpp>
#include <wfctl/util/duration.hpp>

namespace wfctl::kafka {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The poll step: a cancelled publish stops within this.
constexpr milliseconds k_step{100};
// librdkafka scans for timed-out messages about once a second: the delivery report of a
// message that timed out can come that much after message.timeout.ms.
constexpr milliseconds k_grace{1200};

// What the delivery report of one message says; shared by the publishing thread and the
// callback, which may run after a cancelled publish returned.
struct Delivery {
  std::atomic<bool> done{false};
  std::atomic<rd_kafka_resp_err_t> err{RD_KAFKA_RESP_ERR_NO_ERROR};
};
using DeliveryRef = std::shared_ptr<Delivery>;

int clamp_ms(milliseconds d) {
  return static_cast<int>(std::clamp<milliseconds::rep>(d.count(), 1, 2'147'483'647));
}

bool is_permission(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
      return true;
    default:
      return false;
  }
}

}  // namespace

Producer::Producer(const TransportOptions& options)
    : m_options(options), m_shown(shown_brokers(options.brokers)) {
  auto timeout = std::to_string(clamp_ms(options.timeout));
  auto conf = make_conf(options, {{"acks", "all"},
                                  {"enable.idempotence", "true"},
                                  {"message.timeout.ms", timeout},
                                  // One job at a time waits for its ack: do not linger.
                                  {"linger.ms", "0"}});
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery);
  rd_kafka_conf_set_error_cb(conf.get(), on_error);
  char errstr[512] = "";
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr);
  if (!rk) throw Error(ErrorKind::usage, fmt::format("cannot create a kafka producer: {}", errstr));
  conf.release();  // rd_kafka_new took it over
  m_rk.reset(rk);
}

Producer::~Producer() {
  auto bound = std::min(m_options.timeout, milliseconds(5000));
  if (rd_kafka_flush(m_rk.get(), clamp_ms(bound)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // A cancelled publish's message may still wait for an unreachable broker: purge it so
    // its delivery report (and the state it owns) is served before the handle goes.
    rd_kafka_purge(m_rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(m_rk.get(), 500);
  }
}

void Producer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  auto* ref = static_cast<DeliveryRef*>(message->_private);
  if (!ref) return;
  (*ref)->err.store(message->err);
  (*ref)->done.store(true);
  delete ref;
}

void Producer::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  std::string text = reason;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512] = "";
    rd_kafka_fatal_error(rk, buf, sizeof buf);
    text = buf;
    self->m_broken.store(true);
  }
  std::lock_guard lock(self->m_mutex);
  self->m_last_error = std::move(text);
}

std::string Producer::reason(rd_kafka_resp_err_t err) const {
  std::string text = error_text(err);
  std::lock_guard lock(m_mutex);
  if (!m_last_error.empty()) text += fmt::format(" (last broker error: {})", m_last_error);
  return text;
}

void Producer::publish(const std::string& topic, const std::string& value, std::int64_t id,
                       const Cancel& cancel) {
  auto deadline = Clock::now() + m_options.timeout + k_grace;
  auto not_acknowledged = [&](rd_kafka_resp_err_t err) {
    return Error(ErrorKind::unavailable,
                 fmt::format("kafka brokers {} did not acknowledge job {} within {}: {}", m_shown,
                             id, format_duration(m_options.timeout), reason(err)));
  };

  auto state = std::make_shared<Delivery>();
  auto* ref = new DeliveryRef(state);
  rd_kafka_vu_t args[4];
  args[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  args[0].u.cstr = topic.c_str();
  args[1].vtype = RD_KAFKA_VTYPE_VALUE;
  args[1].u.mem.ptr = const_cast<char*>(value.data());
  args[1].u.mem.size = value.size();
  args[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  args[2].u.i = RD_KAFKA_MSG_F_COPY;
  args[3].vtype = RD_KAFKA_VTYPE_OPAQUE;
  args[3].u.ptr = ref;
  for (;;) {
    KafkaErrorPtr error(rd_kafka_produceva(m_rk.get(), args, 4));
    if (!error) break;
    auto code = rd_kafka_error_code(error.get());
    if (code == RD_KAFKA_RESP_ERR__QUEUE_FULL && Clock::now() < deadline) {
      // Other threads' messages fill the queue: serve their reports, then try again.
      rd_kafka_poll(m_rk.get(), static_cast<int>(k_step.count()));
      if (cancel.cancelled()) {
        delete ref;  // never handed to librdkafka
        cancel.check();
      }
      continue;
    }
    delete ref;
    if (code == RD_KAFKA_RESP_ERR__FATAL) m_broken.store(true);
    if (code == RD_KAFKA_RESP_ERR__QUEUE_FULL) throw not_acknowledged(code);
    throw Error(ErrorKind::unavailable,
                fmt::format("cannot publish job {} to kafka brokers {}: {}", id, m_shown,
                            rd_kafka_error_string(error.get())));
  }

  // The report may be served by any publishing thread's poll; each waits for its own.
  while (!state->done.load()) {
    cancel.check();
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left <= milliseconds(0)) throw not_acknowledged(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
    rd_kafka_poll(m_rk.get(), static_cast<int>(std::min(left, k_step).count()) + 1);
  }
  auto err = state->err.load();
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  if (err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT || err == RD_KAFKA_RESP_ERR__TIMED_OUT ||
      err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
    throw not_acknowledged(err);
  throw Error(is_permission(err) ? ErrorKind::permission : ErrorKind::unavailable,
              fmt::format("kafka brokers {} refused job {}: {}", m_shown, id, reason(err)));
}

}  // namespace wfctl::kafka
