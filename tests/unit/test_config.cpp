#include <catch2/catch.hpp>

#include "expect_error.hpp"
#include <fstream>
#include <map>
#include <wfctl/config/config.hpp>
#include <wfctl/error.hpp>

#include "temp_dir.hpp"

using namespace wfctl;
using namespace wfctl::config;

namespace {
EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

ConfigFile two_contexts() {
  ConfigFile f;
  f.path = "/c.yaml";
  f.exists = true;
  f.current_context = "lab";
  f.contexts = {{"lab", {{Key::store, "/lab-store"}, {Key::output, "json"}}}, {"other", {{Key::store, "/other-store"}}}};
  return f;
}

void write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }
}  // namespace

TEST_CASE("store precedence: flag > env > context > default, row by row", "[config]") {
  auto file = two_contexts();
  auto env = env_of({{"HOME", "/home/u"}, {"WFCTL_STORE", "/env-store"}});

  Flags flag_given;
  flag_given.values[Key::store] = "/flag-store";
  auto s = resolve(flag_given, env, file);
  CHECK(*s.get(Key::store).value == "/flag-store");
  CHECK(s.get(Key::store).origin == Origin::flag);

  s = resolve({}, env, file);
  CHECK(*s.get(Key::store).value == "/env-store");
  CHECK(s.get(Key::store).origin == Origin::env);
  CHECK(s.get(Key::store).source == "WFCTL_STORE");

  s = resolve({}, env_of({{"HOME", "/home/u"}}), file);
  CHECK(*s.get(Key::store).value == "/lab-store");
  CHECK(s.get(Key::store).origin == Origin::context);

  s = resolve({}, env_of({{"HOME", "/home/u"}}), ConfigFile{});
  CHECK(*s.get(Key::store).value == "/home/u/.local/share/wfctl");
  CHECK(s.get(Key::store).origin == Origin::default_value);

  s = resolve({}, env_of({{"HOME", "/home/u"}, {"XDG_DATA_HOME", "/xdg"}}), ConfigFile{});
  CHECK(*s.get(Key::store).value == "/xdg/wfctl");
}

TEST_CASE("output precedence and the context choice", "[config]") {
  auto file = two_contexts();
  auto s = resolve({}, env_of({{"HOME", "/h"}}), file);
  CHECK(*s.get(Key::output).value == "json");
  CHECK(s.get(Key::output).origin == Origin::context);

  s = resolve({}, env_of({{"HOME", "/h"}, {"WFCTL_OUTPUT", "yaml"}}), file);
  CHECK(*s.get(Key::output).value == "yaml");

  s = resolve({}, env_of({{"HOME", "/h"}, {"WFCTL_CONTEXT", "other"}}), file);
  CHECK(*s.get(Key::store).value == "/other-store");
  CHECK(*s.get(Key::output).value == "table");  // "other" sets no output: default
  CHECK(s.get(Key::output).origin == Origin::default_value);

  Flags f;
  f.context = "lab";
  s = resolve(f, env_of({{"HOME", "/h"}, {"WFCTL_CONTEXT", "other"}}), file);
  CHECK(*s.get(Key::store).value == "/lab-store");
  CHECK(s.context.origin == Origin::flag);

  f.context = "nope";
  auto msg = test::error_of(ErrorKind::usage, [&] { resolve(f, env_of({{"HOME", "/h"}}), file); });
  CHECK_THAT(msg, Catch::Contains("nope"));
}

TEST_CASE("config path precedence", "[config]") {
  Flags f;
  CHECK(*resolve_config_path(f, env_of({{"HOME", "/h"}})).value == "/h/.config/wfctl/config.yaml");
  CHECK(*resolve_config_path(f, env_of({{"HOME", "/h"}, {"XDG_CONFIG_HOME", "/x"}})).value == "/x/wfctl/config.yaml");
  CHECK(*resolve_config_path(f, env_of({{"HOME", "/h"}, {"WFCTL_CONFIG", "/e.yaml"}})).value == "/e.yaml");
  f.config = "/f.yaml";
  CHECK(*resolve_config_path(f, env_of({{"WFCTL_CONFIG", "/e.yaml"}})).value == "/f.yaml");
}

TEST_CASE("config files load, save and reject what they cannot hold", "[config]") {
  test::TempDir dir;
  auto path = (dir / "config.yaml").string();
  CHECK_FALSE(load(path).exists);  // missing: an empty config

  write(path, "current-context: a\ncontexts:\n  a:\n    store: /s\n    output: yaml\n  b: {}\n");
  auto cfg = load(path);
  REQUIRE(cfg.contexts.size() == 2);
  CHECK(*cfg.find("a")->get(Key::store) == "/s");
  cfg.find("b")->values[Key::token_file] = "/t";
  save(cfg);
  auto again = load(path);
  CHECK(*again.find("b")->get(Key::token_file) == "/t");
  CHECK(*again.current_context == "a");

  auto error_of = [&](const std::string& text) {
    write(path, text);
    try {
      load(path);
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::usage);
      return std::string(e.what());
    }
    FAIL("no error");
    return std::string();
  };
  CHECK(error_of("contexts:\n  a:\n    stor: /x\n") ==
        path + ":3:5: unknown key 'stor' in context 'a' (known: store, output, token-file, lock-timeout, transport, kafka-brokers, "
                                            "kafka-topic-prefix, kafka-group, kafka-config, kafka-timeout, ca-file, insecure, connect-timeout, "
                                            "http-timeout, handlers)");
  CHECK(error_of("current-context: a\nbogus: 1\n") == path + ":2:1: unknown key 'bogus' (known: current-context, contexts)");
  CHECK(error_of("contexts: [a\n").rfind(path + ":", 0) == 0);
}
