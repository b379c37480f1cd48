#include <wfctl/util/signals.hpp>

#include <atomic>
#include <csignal>
#include <wfctl/error.hpp>

namespace wfctl {

namespace {
std::atomic<int> g_signal{0};

void on_signal(int sig) {
  int none = 0;
  if (!g_signal.compare_exchange_strong(none, sig)) {
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

bool interrupt_requested() noexcept { return g_signal.load() != 0; }

int interrupt_signal() noexcept {
  int sig = g_signal.load();
  return sig != 0 ? sig : SIGINT;
}

void throw_if_interrupted() {
  if (interrupt_requested()) throw Error(ErrorKind::interrupted, "interrupted");
}

}  // namespace wfctl
