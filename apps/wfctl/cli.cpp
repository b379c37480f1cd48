#include "cli.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <wfctl/error.hpp>

namespace wfctl::cli {

const config::ConfigFile& AppContext::config_file() {
  if (!m_config) {
    auto path = config::resolve_config_path(flags, config::process_env());
    m_config = config::load(*path.value);
  }
  return *m_config;
}

const config::Settings& AppContext::settings() {
  if (!m_settings) m_settings = config::resolve(flags, config::process_env(), config_file());
  return *m_settings;
}

Store& AppContext::store() {
  if (!m_store) {
    StoreOptions opts;
    opts.token_file = settings().token_file.value;
    m_store = open_store(*settings().store.value, opts);
  }
  return *m_store;
}

output::Options AppContext::output() {
  output::Options o;
  const auto& setting = settings().output;
  try {
    o.format = output::parse_format(*setting.value);
  } catch (const Error& e) {
    // A bad default in the config file or WFCTL_OUTPUT is named by where it came from.
    if (setting.origin == config::Origin::flag) throw;
    throw e.with_context(setting.source);
  }
  o.no_headers = no_headers;
  return o;
}

void require_one_subcommand(CLI::App* group, AppContext& ctx) {
  group->callback([group, &ctx] {
    if (!group->get_subcommands().empty()) return;
    std::string names;
    for (const auto* sub : group->get_subcommands([](const CLI::App*) { return true; }))
      names += (names.empty() ? "" : ", ") + sub->get_name();
    std::string path = "wfctl " + group->get_name();
    ctx.action = [path, names] {
      throw Error(ErrorKind::usage, path + " needs a subcommand: " + names, "run '" + path + " --help'");
    };
  });
}

CLI::Validator file_or_stdin() {
  return CLI::Validator(
      [](std::string& path) -> std::string {
        if (path == "-") return {};
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) return "cannot read " + path + ": " + std::strerror(errno);
        if (S_ISDIR(st.st_mode)) return path + " is a directory";
        return {};
      },
      "FILE|-");
}

CLI::Validator positive() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        long long v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size() || v < 1)
          return "'" + text + "' must be a positive whole number";
        return {};
      },
      "N");
}

}  // namespace wfctl::cli
