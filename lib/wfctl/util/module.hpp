#pragma once
// Modules loaded on first use (DICOM, Kafka): their heavy libraries cost no other command's
// start. One search for both: installed beside the binary, else the build tree.
#include <string>

namespace wfctl {

/// The address of `symbol` in the first module found at <prefix>/<libdir>/wfctl/<file>
/// (<prefix> being the running binary's parent folder) or at `build_path`, opened with
/// RTLD_NOW | RTLD_LOCAL; nullptr with `failure` saying why when none opens or has it.
void* module_symbol(const std::string& file, const std::string& libdir, const std::string& build_path,
                    const char* symbol, std::string& failure);

}  // namespace wfctl
