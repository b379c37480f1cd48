#pragma once
// The job settings of a context: its transport (transport, kafka-* keys) and its handlers.
#include <map>
#include <string>

#include <wfctl/config/config.hpp>
#include <wfctl/jobs/handler.hpp>
#include <wfctl/jobs/transport.hpp>

namespace wfctl {

/// The transport options the settings name; throws Error(usage) naming the source of an
/// invalid value.
TransportOptions transport_options(const config::Settings& settings);

/// The handlers of the selected context ("handlers:" in the config file), parsed; empty
/// without a context. Throws Error(usage) naming the context and topic of a bad command.
std::map<std::string, Handler> configured_handlers(const config::ConfigFile& file, const config::Settings& settings);

}  // namespace wfctl
