#pragma once
// A one-line progress bar on stderr, drawn only when stderr is a terminal.
#include <chrono>
#include <cstdint>
#include <string>

#include <wfctl/ops/results.hpp>

namespace wfctl::cli {

class Progress {
 public:
  explicit Progress(std::string label);
  ~Progress();
  /// A callback for the library, or an empty one when stderr is not a terminal.
  ProgressFn callback();
  /// Erases the bar (before a final message is printed); later draws are ignored.
  void clear();

 private:
  void draw(std::uint64_t done, std::uint64_t total);
  std::string m_label;
  bool m_enabled;
  bool m_drawn = false;
  std::chrono::steady_clock::time_point m_last{};
};

}  // namespace wfctl::cli
