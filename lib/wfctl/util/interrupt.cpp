#include <wfctl/util/interrupt.hpp>

#include <atomic>
#include <string>
#include <wfctl/error.hpp>

namespace wfctl {

namespace {
std::atomic<bool (*)() noexcept> g_requested{nullptr};
struct CallCheck {
  bool (*check)(const void*) noexcept = nullptr;
  const void* context = nullptr;
};
thread_local CallCheck t_call;
}  // namespace

void set_interrupt_check(bool (*requested)() noexcept) noexcept { g_requested.store(requested); }

void set_call_check(bool (*check)(const void* context) noexcept, const void* context) noexcept {
  t_call = CallCheck{check, context};
}

bool interrupt_requested() noexcept {
  auto requested = g_requested.load(std::memory_order_relaxed);
  if (requested != nullptr && requested()) return true;
  return t_call.check != nullptr && t_call.check(t_call.context);
}

void throw_if_interrupted(std::string_view hint) {
  if (interrupt_requested()) throw Error(ErrorKind::interrupted, "interrupted", std::string(hint));
}

}  // namespace wfctl
