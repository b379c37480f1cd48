#pragma once
// Cancelling one operation: a request of a server, a transfer, a job, a lock wait. Long
// operations take a Cancel and look at it between steps; cancelling one token touches no
// other operation. The CLI's token follows SIGINT/SIGTERM (Cancel::on_signal).
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>

namespace wfctl {

class Cancel {
 public:
  using Clock = std::chrono::steady_clock;

  /// A token that is never cancelled.
  Cancel() = default;
  /// A token that is cancelled by calling cancel() on it or on a copy of it.
  static Cancel make();
  /// A token cancelled once the process is asked to stop (SIGINT or SIGTERM, see
  /// util/signals.hpp), and by cancel(): what a command-line front end passes.
  static Cancel on_signal();
  /// A new token cancelled with this one, by its own cancel(), or once `deadline` passed.
  Cancel child(std::optional<Clock::time_point> deadline = std::nullopt) const;

  /// Cancels this token and its children; does nothing on a default token.
  void cancel() const noexcept;
  /// True once cancelled (here or in a parent) or past the deadline.
  bool cancelled() const noexcept;
  /// Throws Error(timed_out) past the deadline, Error(interrupted) when cancelled.
  void check() const;

 private:
  struct State {
    std::atomic<bool> flag{false};
    bool signals = false;
    std::optional<Clock::time_point> deadline;
    std::shared_ptr<const State> parent;
  };
  static bool cancelled(const State* s) noexcept;
  static bool expired(const State* s) noexcept;
  explicit Cancel(std::shared_ptr<State> s) : m_state(std::move(s)) {}
  std::shared_ptr<State> m_state;
};

}  // namespace wfctl
