#pragma once
// The table the Kafka module (wfctl-kafka.so) hands to the core. librdkafka brings six shared
// libraries (SASL, OpenSSL's libssl, zstd, lz4, ...) whose loading every start of `wfctl get`
// would pay: only a command that uses the kafka transport loads them.
#include <memory>

#include <wfctl/jobs/transport.hpp>

namespace wfctl::kafka::detail {

inline constexpr int k_module_abi = 1;

struct ModuleApi {
  int abi;
  /// The module's make_transport (kafka_transport.hpp); the object lives in the module.
  Transport* (*make_transport)(const TransportOptions&);
  /// How Cancel::on_signal tokens ask whether Ctrl-C came: the module's copy of
  /// util/interrupt cannot see the core's signal flag by itself.
  void (*set_interrupt_check)(bool (*)() noexcept);
};

}  // namespace wfctl::kafka::detail

/// The module's one exported symbol.
extern "C" const wfctl::kafka::detail::ModuleApi* wfctl_kafka_module();
