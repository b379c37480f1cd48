#include <wfctl/util/interrupt.hpp>

#include <atomic>
#include <string>
#include <wfctl/error.hpp>

namespace wfctl {

namespace {
std::atomic<bool (*)() noexcept> g_requested{nullptr};
}

void set_interrupt_check(bool (*requested)() noexcept) noexcept { g_requested.store(requested); }

bool interrupt_requested() noexcept {
  auto requested = g_requested.load(std::memory_order_relaxed);
  return requested != nullptr && requested();
}

void throw_if_interrupted(std::string_view hint) {
  if (interrupt_requested()) throw Error(ErrorKind::interrupted, "interrupted", std::string(hint));
}

}  // namespace wfctl
