#pragma once
#include <memory>

#include <wfctl/jobs/transport.hpp>

namespace wfctl {

/// A Kafka transport from wfctl-kafka.so, loaded on first use. Throws Error(not_supported)
/// when the module is missing, and what kafka::make_transport throws.
std::unique_ptr<Transport> load_kafka_transport(const TransportOptions& options);

}  // namespace wfctl
