#include <wfctl/jobs/transport.hpp>

#include <fmt/format.h>
#include <wfctl/error.hpp>
#include <wfctl/jobs/kafka_loader.hpp>

namespace wfctl {

namespace {

// The store's own queue: nothing to publish, nothing to subscribe to.
class LocalTransport final : public Transport {
 public:
  std::string describe() const override { return "local"; }
  bool external() const override { return false; }
  void publish(const Job&, const Cancel&) override {}
  std::unique_ptr<Subscription> subscribe(const std::vector<std::string>&) override {
    throw Error(ErrorKind::not_supported, "the local transport has no topics to subscribe to");
  }
};

}  // namespace

std::unique_ptr<Transport> open_transport(const TransportOptions& options) {
  if (options.kind == "local") return std::make_unique<LocalTransport>();
  if (options.kind == "kafka") {
    if (options.brokers.empty())
      throw Error(ErrorKind::usage, "the kafka transport needs brokers",
                  "give --kafka-brokers HOST:PORT, WFCTL_KAFKA_BROKERS or the context key kafka-brokers");
    return load_kafka_transport(options);
  }
  throw Error(ErrorKind::usage, fmt::format("invalid transport '{}'", options.kind), "use one of: local, kafka");
}

}  // namespace wfctl
