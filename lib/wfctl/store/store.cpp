#include <wfctl/store/store.hpp>

#include <cstdlib>
#include <fmt/format.h>
#include <wfctl/error.hpp>
#include <wfctl/store/local/local_store.hpp>

namespace wfctl {

const char* to_string(ApplyAction a) {
  switch (a) {
    case ApplyAction::created: return "created";
    case ApplyAction::configured: return "configured";
    case ApplyAction::unchanged: return "unchanged";
  }
  return "unchanged";
}

namespace {

std::string expand_home(std::string_view path) {
  if (path == "~" || path.substr(0, 2) == "~/") {
    const char* home = std::getenv("HOME");
    if (!home || !*home) throw Error(ErrorKind::usage, "cannot expand '~': HOME is not set");
    return std::string(home) + std::string(path.substr(1));
  }
  return std::string(path);
}

std::unique_ptr<Store> open_local(std::string_view rest, const StoreOptions& o) {
  if (rest.empty()) throw Error(ErrorKind::usage, "store path is empty");
  return std::make_unique<local::LocalStore>(expand_home(rest), o);
}

std::unique_ptr<Store> open_remote(std::string_view url, const StoreOptions&) {
  throw Error(ErrorKind::not_supported,
              fmt::format("remote store {}: the remote backend is not available in this build", url),
              "use a local store path");
}

// One table of schemes; a string with no scheme is a local path.
struct Scheme {
  std::string_view prefix;
  bool keep_prefix;  // remote URLs are passed whole
  std::unique_ptr<Store> (*open)(std::string_view, const StoreOptions&);
};

const Scheme k_schemes[] = {
    {"sqlite:", false, open_local},
    {"file://", false, open_local},
    {"http://", true, open_remote},
    {"https://", true, open_remote},
};

}  // namespace

std::unique_ptr<Store> open_store(std::string_view url, const StoreOptions& options) {
  for (const auto& s : k_schemes) {
    if (url.substr(0, s.prefix.size()) == s.prefix)
      return s.open(s.keep_prefix ? url : url.substr(s.prefix.size()), options);
  }
  auto colon = url.find("://");
  if (colon != std::string_view::npos)
    throw Error(ErrorKind::usage, fmt::format("unknown store scheme '{}'", url.substr(0, colon)),
                "use a path, sqlite:PATH, http:// or https://");
  return open_local(url, options);
}

}  // namespace wfctl
