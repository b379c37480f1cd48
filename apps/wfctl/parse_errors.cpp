// What a bad command line gets: one error line naming the command it was meant for, and a
// hint. A word that is not a command where it was typed is never run as another command.
#include <iostream>

#include "cli.hpp"
#include "suggest.hpp"

namespace wfctl::cli {

namespace {

void print_error(const std::string& message, const std::string& hint) {
  std::cerr << "wfctl: error: " << message << '\n';
  if (!hint.empty()) std::cerr << "hint: " << hint << '\n';
}

// CLI11's messages are sentences ending in a period or a newline; keep the first line.
std::string first_line(std::string s) {
  auto nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  while (!s.empty() && (s.back() == '.' || s.back() == ' ')) s.pop_back();
  return s;
}

// The command the parser reached: the last subcommand chosen below `app`.
const CLI::App& reached(const CLI::App& app) {
  const CLI::App* current = &app;
  for (;;) {
    auto chosen = current->get_subcommands();
    if (chosen.empty()) return *current;
    current = chosen.front();
  }
}

bool is_group(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    if (!sub->get_group().empty()) return true;
  return false;
}

int report_extras(CLI::App& app, const CLI::ExtrasError& e) {
  const CLI::App& at = reached(app);
  const std::string path = path_of(at);
  const std::string help = "run '" + path + " --help' for usage";
  auto extras = app.remaining();
  if (extras.empty()) {
    print_error(first_line(e.what()), help);
    return 2;
  }
  const std::string& word = extras.front();
  if (word.size() > 1 && word[0] == '-') {
    print_error("unknown flag '" + word + "' for '" + path + "'", help);
  } else if (is_group(at)) {
    print_error("unknown command '" + word + "' for '" + path + "'", suggestion_hint(at, word));
  } else if (auto other = command_elsewhere(app, word); !other.empty()) {
    print_error("unknown command '" + word + "' for '" + path + "'",
                "'" + path + "' takes no further command; '" + word + "' is '" + other + "'");
  } else {
    print_error("unexpected argument '" + word + "' for '" + path + "'", help);
  }
  return 2;
}

}  // namespace

int report_parse_error(CLI::App& app, const CLI::ParseError& e) {
  if (dynamic_cast<const CLI::CallForHelp*>(&e) || dynamic_cast<const CLI::CallForAllHelp*>(&e) ||
      dynamic_cast<const CLI::CallForVersion*>(&e))
    return app.exit(e);
  if (const auto* extras = dynamic_cast<const CLI::ExtrasError*>(&e)) return report_extras(app, *extras);
  print_error(first_line(e.what()), "run '" + path_of(reached(app)) + " --help' for usage");
  return 2;
}

}  // namespace wfctl::cli
