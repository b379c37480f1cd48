// Placeholder until the Kafka transport lands: refuses clearly.
#include <wfctl/jobs/kafka/kafka_transport.hpp>

#include <wfctl/error.hpp>

namespace wfctl::kafka {

std::unique_ptr<Transport> make_transport(const TransportOptions&) {
  throw Error(ErrorKind::not_supported, "the kafka transport is not built in yet");
}

}  // namespace wfctl::kafka
