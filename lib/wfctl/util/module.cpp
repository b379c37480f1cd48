#include <wfctl/util/module.hpp>

#include <dlfcn.h>

#include <filesystem>
#include <vector>

namespace wfctl {

void* module_symbol(const std::string& file, const std::string& libdir, const std::string& build_path,
                    const char* symbol, std::string& failure) {
  namespace fs = std::filesystem;
  std::vector<fs::path> paths;
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) paths.push_back(exe.parent_path().parent_path() / libdir / "wfctl" / file);
  paths.emplace_back(build_path);
  for (const auto& path : paths) {
    if (!fs::exists(path, ec)) continue;
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      failure = ::dlerror();
      return nullptr;
    }
    void* entry = ::dlsym(handle, symbol);
    if (!entry) failure = path.string() + " is not a compatible wfctl module";
    return entry;
  }
  failure = file + " not found next to the wfctl binary";
  return nullptr;
}

}  // namespace wfctl
