#pragma once
// The backends the contract suite runs against: one row per backend. Each opens a fresh,
// empty store in a directory the test owns; the cases do not change between rows.
//   local:  the SQLite store in that directory;
//   serve:  the remote backend (http://) talking to `wfctl serve`'s routes, run in this
//           process on 127.0.0.1 port 0 over a local store in that directory.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <wfctl/store/store.hpp>

namespace wfctl::contract {

/// A store under test, and whatever must outlive it (the server behind a remote store).
struct Opened {
  std::shared_ptr<void> keep;
  std::unique_ptr<Store> store;
};

struct Backend {
  std::string name;
  std::function<Opened(const std::filesystem::path& dir)> open;
};

/// Every row; the serve row's server is defined in served.cpp.
const std::vector<Backend>& backends();

}  // namespace wfctl::contract
