// The core's side of the Kafka module: open_transport() loads wfctl-kafka.so on first use
// (see jobs/kafka/module_api.hpp for why librdkafka is not linked into the binary).
#include <mutex>
#include <wfctl/error.hpp>
#include <wfctl/jobs/kafka/module_api.hpp>
#include <wfctl/jobs/kafka_loader.hpp>
#include <wfctl/util/interrupt.hpp>
#include <wfctl/util/module.hpp>

namespace wfctl {

namespace {

const kafka::detail::ModuleApi& load() {
  static const kafka::detail::ModuleApi* api = nullptr;
  static std::string failure;
  static std::once_flag once;
  std::call_once(once, [] {
    auto entry = reinterpret_cast<decltype(&wfctl_kafka_module)>(module_symbol(
        "wfctl-kafka.so", WFCTL_KAFKA_MODULE_LIBDIR, WFCTL_KAFKA_MODULE_BUILD, "wfctl_kafka_module", failure));
    if (!entry) return;
    if (entry()->abi != kafka::detail::k_module_abi) {
      failure = "wfctl-kafka.so is not a compatible wfctl Kafka module";
      return;
    }
    api = entry();
    api->set_interrupt_check(&interrupt_requested);  // Ctrl-C stops a publish or a poll
  });
  if (!api)
    throw Error(ErrorKind::not_supported, "the kafka transport is not available: " + failure,
                "reinstall wfctl with its lib/wfctl/wfctl-kafka.so");
  return *api;
}

}  // namespace

std::unique_ptr<Transport> load_kafka_transport(const TransportOptions& options) {
  return std::unique_ptr<Transport>(load().make_transport(options));
}

}  // namespace wfctl
