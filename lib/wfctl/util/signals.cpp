#include <wfctl/util/signals.hpp>

#include <atomic>
#include <csignal>
#include <wfctl/error.hpp>

namespace wfctl {

namespace {
std::atomic<bool> g_interrupted{false};

void on_signal(int sig) {
  if (g_interrupted.exchange(true)) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}
}  // namespace

void install_interrupt_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked read returns EINTR so the loop can notice
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool interrupt_requested() noexcept { return g_interrupted.load(); }

void throw_if_interrupted() {
  if (g_interrupted.load()) throw Error(ErrorKind::interrupted, "interrupted");
}

}  // namespace wfctl
