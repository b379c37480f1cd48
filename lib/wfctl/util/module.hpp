#pragma once
// Modules loaded on first use (DICOM, Kafka, the HTTP server and client): their heavy libraries
// cost no other command's start. One search for all: installed beside the binary, else the
// build tree; one loader, which checks the module's ABI number once.
#include <mutex>
#include <string>

#include <wfctl/error.hpp>

namespace wfctl {

/// The address of `symbol` in the first module found at <prefix>/<libdir>/wfctl/<file>
/// (<prefix> being the running binary's parent folder) or at `build_path`, opened with
/// RTLD_NOW | RTLD_LOCAL; nullptr with `failure` saying why when none opens or has it.
void* module_symbol(const std::string& file, const std::string& libdir, const std::string& build_path,
                    const char* symbol, std::string& failure);

/// Where a module is and how to name it when it is missing.
struct ModuleSpec {
  const char* file;        // "wfctl-kafka.so"
  const char* libdir;      // the install's libdir
  const char* build_path;  // the build tree's copy
  const char* symbol;      // its one exported function, returning its const Api*
  int abi;                 // the ABI number the core was built with
  const char* kind;        // "Kafka": "... is not a compatible wfctl Kafka module"
  const char* feature;     // "the kafka transport": "... is not available: why"
};

/// The table of the module `spec` names, loaded and checked once per Api type (Api has an
/// `int abi` first); `init` runs once on it. Throws Error(not_supported, "<feature> is not
/// available: <why>", "reinstall wfctl with its lib/wfctl/<file>") when it is missing or
/// of another ABI, at every call.
template <typename Api>
const Api& module_api(const ModuleSpec& spec, void (*init)(const Api&) = nullptr) {
  static const Api* api = nullptr;
  static std::string failure;
  static std::once_flag once;
  std::call_once(once, [&] {
    auto entry = reinterpret_cast<const Api* (*)()>(
        module_symbol(spec.file, spec.libdir, spec.build_path, spec.symbol, failure));
    if (!entry) return;
    const Api* found = entry();
    if (found->abi != spec.abi) {
      failure = std::string(spec.file) + " is not a compatible wfctl " + spec.kind + " module";
      return;
    }
    api = found;
    if (init) init(*api);
  });
  if (!api)
    throw Error(ErrorKind::not_supported, std::string(spec.feature) + " is not available: " + failure,
                std::string("reinstall wfctl with its lib/wfctl/") + spec.file);
  return *api;
}

}  // namespace wfctl
