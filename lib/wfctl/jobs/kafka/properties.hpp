#pragma once
// librdkafka configurations: the user's properties file (like kcat -F) first, then what
// wfctl itself needs. Values are never shown in messages: they may be passwords.
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <wfctl/jobs/kafka/handles.hpp>
#include <wfctl/jobs/transport.hpp>

namespace wfctl::kafka {

using Settings = std::vector<std::pair<std::string, std::string>>;

/// A configuration of options.config_file's properties (when set), then bootstrap.servers,
/// then `settings` in order, with librdkafka's own logging silenced unless the file asks for
/// `debug`. Throws the errno kind for an unreadable file (errno_error) and Error(usage) naming
/// FILE:LINE and the key for a line librdkafka refuses.
ConfPtr make_conf(const TransportOptions& options, const Settings& settings);

/// `brokers` as shown to people: each HOST:PORT without a scheme or user information.
std::string shown_brokers(std::string_view brokers);

/// The error text of librdkafka's code `err` ("Local: Message timed out").
std::string error_text(rd_kafka_resp_err_t err);

}  // namespace wfctl::kafka
