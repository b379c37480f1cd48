#include "progress.hpp"

#include "terminal.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <wfctl/output/render.hpp>

namespace wfctl::cli {

Progress::Progress(std::string label) : m_label(std::move(label)), m_enabled(::isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() { clear(); }

void Progress::clear() {
  if (m_drawn) write_stderr_raw("\r\033[K", 4);
  m_drawn = false;
  m_enabled = false;
}

ProgressFn Progress::callback() {
  if (!m_enabled) return {};
  return [this](std::uint64_t done, std::uint64_t total) { draw(done, total); };
}

void Progress::draw(std::uint64_t done, std::uint64_t total) {
  if (!m_enabled) return;
  auto now = std::chrono::steady_clock::now();
  if (m_drawn && now - m_last < std::chrono::milliseconds(100) && done != total) return;
  m_last = now;
  m_drawn = true;
  std::string line;
  if (total > 0) {
    int pct = static_cast<int>(done * 100 / total);
    int filled = pct * 30 / 100;
    line = fmt::format("{} [{}{}] {:3}% {} / {}", m_label, std::string(static_cast<std::size_t>(filled), '#'),
                       std::string(static_cast<std::size_t>(30 - filled), ' '), pct, output::human_size(done),
                       output::human_size(total));
  } else {
    line = fmt::format("{} {}", m_label, output::human_size(done));
  }
  line = "\r\033[K" + line;
  write_stderr_raw(line.data(), line.size());
}

}  // namespace wfctl::cli
