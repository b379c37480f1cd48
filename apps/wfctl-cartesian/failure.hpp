// The one exception type of wfctl-cartesian and the exit statuses it maps to.
#pragma once
#include <stdexcept>
#include <string>

namespace cartesian {

/// The exit statuses of wfctl-cartesian (documented in --help and man/wfctl-cartesian.1).
enum class Exit { ok = 0, other = 1, usage = 2, invalid_input = 4 };

/// A failure with its message ("<what failed>: <why>") and the exit status it ends with.
class Failure : public std::runtime_error {
 public:
  Failure(Exit exit, const std::string& message) : std::runtime_error(message), m_exit(exit) {}
  /// The exit status main() returns for this failure.
  Exit exit() const { return m_exit; }

 private:
  Exit m_exit;
};

}  // namespace cartesian
