#include "suggest.hpp"

#include <algorithm>
#include <vector>

#include "cli.hpp"

namespace wfctl::cli {

namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::vector<const CLI::App*> visible_subcommands(const CLI::App& app) {
  std::vector<const CLI::App*> out;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    if (!sub->get_group().empty()) out.push_back(sub);
  return out;
}

const CLI::App& root_of(const CLI::App& app) {
  const CLI::App* a = &app;
  while (a->get_parent()) a = a->get_parent();
  return *a;
}

std::string find_in(const CLI::App& app, const std::string& word) {
  for (const CLI::App* sub : visible_subcommands(app)) {
    if (sub->check_name(word)) return path_of(*sub);
    if (auto found = find_in(*sub, word); !found.empty()) return found;
  }
  return {};
}

}  // namespace

std::string command_elsewhere(const CLI::App& root, const std::string& word) { return find_in(root, word); }

std::string flag_hint(const CLI::App& at, const std::string& word) {
  const std::string bare = word.substr(0, word.find('='));
  std::string best;
  std::size_t best_distance = 3;
  for (const CLI::App* a = &at; a; a = a->get_parent()) {
    for (const CLI::Option* opt : a->get_options()) {
      for (const auto& n : opt->get_lnames()) {
        const std::string flag = "--" + n;
        std::size_t d = edit_distance(bare, flag);
        if (bare.size() >= 4 && flag.rfind(bare, 0) == 0) d = std::min<std::size_t>(d, 1);
        if (d < best_distance) {
          best_distance = d;
          best = flag;
        }
      }
    }
  }
  if (!best.empty()) return "did you mean '" + best + "'?";
  return "run '" + path_of(at) + " --help' for its options";
}

std::string suggestion_hint(const CLI::App& group, const std::string& word) {
  const std::string other = command_elsewhere(root_of(group), word);
  if (!other.empty()) {
    // "rm" is "wfctl delete"'s alias; when this group has a "delete" too, that is the one meant.
    const std::string canonical = other.substr(other.rfind(' ') + 1);
    for (const CLI::App* sub : visible_subcommands(group))
      if (sub->get_name() == canonical && canonical != word) return "did you mean '" + path_of(*sub) + "'?";
  }
  // kubectl's rule: a prefix of a command, or at most two edits away from one.
  std::string best;
  std::size_t best_distance = 3;
  for (const CLI::App* sub : visible_subcommands(group)) {
    std::vector<std::string> names{sub->get_name()};
    for (const auto& a : sub->get_aliases()) names.push_back(a);
    for (const auto& n : names) {
      std::size_t d = edit_distance(word, n);
      if (word.size() >= 2 && n.rfind(word, 0) == 0) d = std::min<std::size_t>(d, 1);
      if (d < best_distance) {
        best_distance = d;
        best = sub->get_name();
      }
    }
  }
  if (!best.empty()) return "did you mean '" + path_of(group) + " " + best + "'?";
  std::string names;
  for (const CLI::App* sub : visible_subcommands(group)) names += (names.empty() ? "" : ", ") + sub->get_name();
  std::string has = "'" + path_of(group) + "' has: " + names;
  if (!other.empty()) return "'" + word + "' is '" + other + "'; " + has;
  return has;
}

}  // namespace wfctl::cli
