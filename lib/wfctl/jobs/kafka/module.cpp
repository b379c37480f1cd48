// The entry point of wfctl-kafka.so (see module_api.hpp).
#include <wfctl/jobs/kafka/kafka_transport.hpp>
#include <wfctl/jobs/kafka/module_api.hpp>
#include <wfctl/util/interrupt.hpp>

namespace {

wfctl::Transport* make(const wfctl::TransportOptions& options) { return wfctl::kafka::make_transport(options).release(); }

const wfctl::kafka::detail::ModuleApi k_api = {wfctl::kafka::detail::k_module_abi, &make, &wfctl::set_interrupt_check};

}  // namespace

extern "C" __attribute__((visibility("default"))) const wfctl::kafka::detail::ModuleApi* wfctl_kafka_module() {
  return &k_api;
}
