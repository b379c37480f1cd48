#include "cancel.hpp"

#include <atomic>
#include <wfctl/error.hpp>

namespace wfctl::dicom::detail {

namespace {
std::atomic<bool (*)() noexcept> g_requested{nullptr};
}

void set_interrupt_check(bool (*requested)() noexcept) { g_requested.store(requested); }

void throw_if_interrupted() {
  auto requested = g_requested.load(std::memory_order_relaxed);
  if (requested && requested()) throw Error(ErrorKind::interrupted, "interrupted", "nothing was written");
}

}  // namespace wfctl::dicom::detail
