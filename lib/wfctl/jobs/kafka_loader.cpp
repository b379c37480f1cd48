// The core's side of the Kafka module: open_transport() loads wfctl-kafka.so on first use
// (see jobs/kafka/module_api.hpp for why librdkafka is not linked into the binary).
#include <dlfcn.h>

#include <filesystem>
#include <mutex>
#include <wfctl/error.hpp>
#include <wfctl/jobs/kafka/module_api.hpp>
#include <wfctl/jobs/kafka_loader.hpp>
#include <wfctl/util/interrupt.hpp>

namespace wfctl {

namespace {

namespace fs = std::filesystem;

const kafka::detail::ModuleApi& load() {
  static const kafka::detail::ModuleApi* api = nullptr;
  static std::string failure;
  static std::once_flag once;
  std::call_once(once, [] {
    std::vector<fs::path> paths;
    std::error_code ec;
    auto exe = fs::read_symlink("/proc/self/exe", ec);
    // Installed: <prefix>/bin/wfctl next to <prefix>/<libdir>/wfctl/wfctl-kafka.so.
    if (!ec) paths.push_back(exe.parent_path().parent_path() / WFCTL_KAFKA_MODULE_LIBDIR / "wfctl" / "wfctl-kafka.so");
    paths.emplace_back(WFCTL_KAFKA_MODULE_BUILD);  // the build tree
    for (const auto& path : paths) {
      if (!fs::exists(path, ec)) continue;
      void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!handle) {
        failure = ::dlerror();
        return;
      }
      auto entry = reinterpret_cast<decltype(&wfctl_kafka_module)>(::dlsym(handle, "wfctl_kafka_module"));
      if (!entry || entry()->abi != kafka::detail::k_module_abi) {
        failure = path.string() + " is not a compatible wfctl Kafka module";
        return;
      }
      api = entry();
      api->set_interrupt_check(&interrupt_requested);  // Ctrl-C stops a publish or a poll
      return;
    }
    failure = "wfctl-kafka.so not found next to the wfctl binary";
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
