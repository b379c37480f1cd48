#include "cli.hpp"
#include <fmt/format.h>

#include "terminal.hpp"

#include <unistd.h>

#include <charconv>
#include <iostream>

#include <wfctl/error.hpp>
#include <wfctl/jobs/settings.hpp>
#include <wfctl/util/duration.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/version.hpp>

namespace wfctl::cli {

std::string AppContext::config_path() { return *config::resolve_config_path(flags, config::process_env()).value; }

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
    const auto& s = settings();
    StoreOptions opts;
    opts.token_file = s.get(config::Key::token_file).value;
    // A token file given as a flag wins over WFCTL_TOKEN; WFCTL_TOKEN over one from the
    // environment or the context.
    if (s.get(config::Key::token_file).origin != config::Origin::flag) opts.http.token = config::env_token(config::process_env());
    if (const auto& ca = s.get(config::Key::ca_file); ca.value) {
      config::check_value(config::Key::ca_file, *ca.value, ca.source);
      opts.http.ca_file = ca.value;
    }
    opts.http.insecure = config::bool_setting(s, config::Key::insecure);
    opts.http.connect_timeout = config::duration_setting(s, config::Key::connect_timeout);
    opts.http.timeout = config::duration_setting(s, config::Key::http_timeout);
    opts.lock_timeout = config::lock_timeout(s);
    if (!m_store_survives_signals) opts.cancel = m_cancel;  // Ctrl-C stops every call, also those given no token of their own
    // Only a person at a terminal is told; a script's stderr stays quiet.
    if (::isatty(STDERR_FILENO) == 1) {
      opts.on_lock_wait = [](const std::string& store) {
        write_stderr_raw("\r\033[K", 4);  // on a line of its own, not after a progress bar
        std::cerr << "wfctl: waiting for another process to release the lock on " << store << " (Ctrl-C to stop)\n";
      };
    }
    const auto& url = s.get(config::Key::store);
    config::check_value(config::Key::store, *url.value, url.source);
    m_store = open_store(*url.value, opts);
  }
  return *m_store;
}

Transport& AppContext::transport() {
  if (!m_transport) m_transport = open_transport(transport_options(settings()));
  return *m_transport;
}

std::map<std::string, Handler> AppContext::handlers() { return configured_handlers(config_file(), settings()); }

namespace {
output::Options options_for(const config::Setting& setting, bool no_headers) {
  output::Options o;
  config::check_value(config::Key::output, *setting.value, setting.source);
  o.format = output::parse_format(*setting.value);
  o.no_headers = no_headers;
  return o;
}
}  // namespace

output::Options AppContext::output() { return options_for(settings().get(config::Key::output), no_headers); }

output::Options AppContext::output_without_config() {
  const auto& spec = config::spec(config::Key::output);
  config::Setting s{std::string("table"), config::Origin::default_value, "default"};
  if (auto& flag = flags.values[config::Key::output]) s = config::Setting{flag, config::Origin::flag, spec.flag};
  else if (auto env = config::process_env()(spec.env); env && !env->empty())
    s = config::Setting{env, config::Origin::env, spec.env};
  return options_for(s, no_headers);
}

std::string AppContext::missing_store_hint() const {
  if (!m_store || m_store->exists()) return {};
  // Only a read gets here with a store that does not exist: a write would have created it.
  return "store " + m_store->describe() + " does not exist: nothing has been stored there yet";
}

std::string AppContext::hint_for(const Error& e) const {
  if (!e.hint().empty()) return e.hint();
  for (const auto& item : e.items())
    if (auto it = m_item_hints.find(item.type); it != m_item_hints.end()) return it->second;
  if (auto it = m_hints.find(e.kind()); it != m_hints.end()) return it->second;
  for (const auto& item : e.items()) {
    if (item.type != "value_error.missing" || item.loc.size() != 2) continue;
    const auto* field = std::get_if<std::string>(&item.loc[1]);
    if (field && (*field == "name" || *field == "version"))
      return fmt::format("put {0} in the document or give --{0}", *field);
  }
  return {};
}

void configure_root(CLI::App& app, AppContext& ctx) {
  use_help_formatter(app);
  app.fallthrough();             // before subcommands, so global flags work in any position
  app.require_subcommand(0, 1);  // inherited: a command word is only taken where it belongs
  // Not CLI11's version flag: through fallthrough it would answer `wfctl delete 2 --version 1`
  // too, and run nothing; main() accepts it only on its own.
  app.add_flag("--version", ctx.show_version, "Print the version of wfctl and exit");
  for (const auto& row : config::settings_table()) {
    std::string names = row.key == config::Key::output ? std::string("-o,") + row.flag : std::string(row.flag);
    if (!*row.type_name) {  // a flag: given, it sets "true"
      auto key = row.key;
      app.add_flag_callback(names, [&ctx, key] { ctx.flags.values[key] = "true"; }, row.doc);
      continue;
    }
    app.add_option(names, ctx.flags.values[row.key], row.doc)
        ->type_name(row.type_name)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
  app.add_option("--context", ctx.flags.context, "Config context to use")
      ->type_name("NAME")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--config", ctx.flags.config, "Config file (default $XDG_CONFIG_HOME/wfctl/config.yaml)")
      ->type_name("FILE")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_flag("--no-headers", ctx.no_headers, "Omit the header row of tables");
}

void example(CLI::App* cmd, const std::string& lines) {
  std::string text = "Example:\n";
  std::size_t start = 0;
  while (start < lines.size()) {
    auto end = lines.find('\n', start);
    if (end == std::string::npos) end = lines.size();
    text += "  " + lines.substr(start, end - start) + "\n";
    start = end + 1;
  }
  cmd->footer(text);
}

void require_one_subcommand(CLI::App* group, AppContext& ctx) {
  group->callback([group, &ctx] {
    if (!group->get_subcommands().empty()) return;
    std::string names;
    for (const auto* sub : group->get_subcommands([](const CLI::App*) { return true; }))
      names += (names.empty() ? "" : ", ") + sub->get_name();
    std::string path = path_of(*group);
    ctx.action = [path, names] {
      throw Error(ErrorKind::usage, path + " needs a subcommand: " + names, "run '" + path + " --help'");
    };
  });
}

namespace {

// Whole numbers of at least `min`; anything else is "'TEXT' must be <what>".
CLI::Validator whole_number_at_least(long long min, std::string what) {
  return CLI::Validator(
      [min, what = std::move(what)](std::string& text) -> std::string {
        long long v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size() || v < min)
          return "'" + text + "' must be " + what;
        return {};
      },
      "N");
}

}  // namespace

std::chrono::milliseconds duration_flag(const std::string& flag, const std::string& text) {
  auto d = parse_duration(text);
  if (!d) throw Error(ErrorKind::usage, fmt::format("invalid {} '{}'", flag, text), "use a duration such as 30s, 500ms, 10m or 1h");
  return *d;
}

CLI::Validator positive() { return whole_number_at_least(1, "a positive whole number"); }

CLI::Validator non_negative() { return whole_number_at_least(0, "a whole number of at least 0"); }

std::vector<std::string> split_short_equals(int argc, char** argv) {
  std::vector<std::string> args;
  bool options_end = false;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") options_end = true;
    bool short_equals = i > 0 && !options_end && a.size() > 2 && a[0] == '-' && a[1] != '-' && a[2] == '=';
    if (short_equals) {
      args.push_back(a.substr(0, 2));
      args.push_back(a.substr(3));
    } else {
      args.push_back(std::move(a));
    }
  }
  return args;
}

void write_stdout_now(const std::string& text) {
  std::cout.flush();
  if (!std::cout) throw Error(ErrorKind::unavailable, "cannot write to standard output");
  try {
    write_all(STDOUT_FILENO, text.data(), text.size(), "standard output");
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::interrupted) throw;
    throw Error(ErrorKind::unavailable, e.what(), "nothing was stored");
  }
}

std::optional<int> handle_version_flag(const CLI::App& app, const AppContext& ctx) {
  if (!ctx.show_version) return std::nullopt;
  const CLI::App* at = &app;
  while (!at->get_subcommands().empty()) at = at->get_subcommands().front();
  if (at != &app)
    throw Error(ErrorKind::usage, "unknown flag '--version' for '" + path_of(*at) + "'",
                "'wfctl --version' prints wfctl's version; create, update, apply and list take a workflow's --version");
  std::cout << "wfctl " << k_version << '\n';
  return 0;
}

std::string path_of(const CLI::App& app) {
  std::string path;
  for (const CLI::App* a = &app; a; a = a->get_parent()) path = a->get_name() + (path.empty() ? "" : " " + path);
  return path;
}

}  // namespace wfctl::cli
