#pragma once
// The backends the contract suite runs against: one row per backend. Each opens a fresh,
// empty store in a directory the test owns. The remote issue adds `wfctl serve` behind the
// remote backend as a second row; the cases do not change.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <wfctl/store/store.hpp>

namespace wfctl::contract {

struct Backend {
  std::string name;
  std::function<std::unique_ptr<Store>(const std::filesystem::path& dir)> open;
};

inline const std::vector<Backend>& backends() {
  static const std::vector<Backend> rows = {
      {"local", [](const std::filesystem::path& dir) { return open_store((dir / "store").string(), {}); }},
  };
  return rows;
}

}  // namespace wfctl::contract
