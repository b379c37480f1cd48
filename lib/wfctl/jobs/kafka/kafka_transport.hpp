#pragma once
// The Kafka transport (librdkafka stays in this folder's .cpp files).
#include <memory>

#include <wfctl/jobs/transport.hpp>

namespace wfctl::kafka {

/// A transport publishing to and consuming from `options.brokers`. Connects lazily: creating
/// it does not reach the brokers. Throws Error(usage) for a properties file that cannot be
/// read or that librdkafka refuses.
std::unique_ptr<Transport> make_transport(const TransportOptions& options);

}  // namespace wfctl::kafka
