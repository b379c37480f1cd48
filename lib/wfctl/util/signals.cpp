#include <wfctl/util/signals.hpp>

#include <atomic>
#include <csignal>
#include <ctime>

namespace wfctl {

namespace {
std::atomic<int> g_signal{0};
std::atomic<long long> g_first_ns{0};
std::atomic<int> g_count{0};
std::atomic<bool> g_second_counts{false};

long long now_ns() noexcept {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe
  return static_cast<long long>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// A second signal ends the process at once, for a user who does not want to wait for the
// clean stop; but one that comes within half a second is the same request delivered twice
// (`timeout -s INT` signals the child and then its whole process group), not a second press.
void on_signal(int sig) {
  int none = 0;
  if (g_signal.compare_exchange_strong(none, sig)) {
    g_first_ns.store(now_ns());
    g_count.store(1);
    return;
  }
  if (now_ns() - g_first_ns.load() < 500'000'000) return;
  if (g_second_counts.load()) {
    g_count.store(2);
    return;
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

bool signal_received() noexcept { return g_signal.load() != 0; }
}  // namespace

void install_interrupt_handler() {
  set_interrupt_check(&signal_received);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked read returns EINTR so the loop can notice
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void count_second_signal() noexcept { g_second_counts.store(true); }

int signal_count() noexcept { return g_count.load(); }

int interrupt_signal() noexcept {
  int sig = g_signal.load();
  return sig != 0 ? sig : SIGINT;
}

}  // namespace wfctl
