// The core's side of the Kafka module: open_transport() loads wfctl-kafka.so on first use
// (see jobs/kafka/module_api.hpp for why librdkafka is not linked into the binary).
#include <wfctl/error.hpp>
#include <wfctl/jobs/kafka/module_api.hpp>
#include <wfctl/jobs/kafka_loader.hpp>
#include <wfctl/util/interrupt.hpp>
#include <wfctl/util/module.hpp>

namespace wfctl {

namespace {

const kafka::detail::ModuleApi& load() {
  return module_api<kafka::detail::ModuleApi>(
      {"wfctl-kafka.so", WFCTL_KAFKA_MODULE_LIBDIR, WFCTL_KAFKA_MODULE_BUILD, "wfctl_kafka_module",
       kafka::detail::k_module_abi, "Kafka", "the kafka transport"},
      [](const kafka::detail::ModuleApi& api) { api.set_interrupt_check(&interrupt_requested); });  // Ctrl-C stops a publish or a poll
}

}  // namespace

std::unique_ptr<Transport> load_kafka_transport(const TransportOptions& options) {
  return std::unique_ptr<Transport>(load().make_transport(options));
}

}  // namespace wfctl
