// What a bad command line gets: one error line naming the command it was meant for, and a
// hint. A word that is not a command where it was typed is never run as another command.
#include <algorithm>
#include <iostream>

#include "cli.hpp"
#include "suggest.hpp"

namespace wfctl::cli {

namespace {

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

// The command a word was typed for: the last command whose name comes before the word on the
// command line (`wfctl xyz delete 3` gave "xyz" to wfctl itself, not to delete).
const CLI::App& owner_of(const CLI::App& app, const std::vector<std::string>& args, const std::string& word) {
  std::vector<const CLI::App*> chain{&app};
  while (!chain.back()->get_subcommands().empty()) chain.push_back(chain.back()->get_subcommands().front());
  std::vector<std::size_t> at{0};  // where each command of the chain was named
  for (std::size_t k = 1, from = 1; k < chain.size(); ++k) {
    std::size_t i = from;
    while (i < args.size() && !chain[k]->check_name(args[i])) ++i;
    if (i == args.size()) break;
    at.push_back(i);
    from = i + 1;
  }
  std::size_t word_at = args.size();
  for (std::size_t i = 1; i < args.size() && word_at == args.size(); ++i)
    if (args[i] == word && std::find(at.begin(), at.end(), i) == at.end()) word_at = i;
  std::size_t k = 0;
  while (k + 1 < at.size() && at[k + 1] < word_at) ++k;
  return *chain[k];
}

int report_extras(CLI::App& app, const CLI::ExtrasError& e, const std::vector<std::string>& args) {
  auto extras = app.remaining();
  const CLI::App& at = extras.empty() ? reached(app) : owner_of(app, args, extras.front());
  const std::string path = path_of(at);
  const std::string help = "run '" + path + " --help' for usage";
  if (extras.empty()) {
    print_error(first_line(e.what()), help);
    return 2;
  }
  const std::string& word = extras.front();
  if (word.size() > 1 && word[0] == '-') {
    print_error("unknown flag '" + word + "' for '" + path + "'", flag_hint(at, word));
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

void print_error(const std::string& message, const std::string& hint) {
  std::cerr << "wfctl: error: " << message << '\n';
  if (!hint.empty()) std::cerr << "hint: " << hint << '\n';
}

int report_parse_error(CLI::App& app, const CLI::ParseError& e, const std::vector<std::string>& args) {
  if (dynamic_cast<const CLI::CallForHelp*>(&e) || dynamic_cast<const CLI::CallForAllHelp*>(&e) ||
      dynamic_cast<const CLI::CallForVersion*>(&e))
    return app.exit(e);
  if (const auto* extras = dynamic_cast<const CLI::ExtrasError*>(&e)) return report_extras(app, *extras, args);
  print_error(first_line(e.what()), "run '" + path_of(reached(app)) + " --help' for usage");
  return 2;
}

}  // namespace wfctl::cli
