#include <wfctl/util/cancel.hpp>

#include <wfctl/error.hpp>
#include <wfctl/util/signals.hpp>

namespace wfctl {

Cancel Cancel::make() { return Cancel(std::make_shared<State>()); }

Cancel Cancel::on_signal() {
  auto s = std::make_shared<State>();
  s->signals = true;
  return Cancel(std::move(s));
}

Cancel Cancel::child(std::optional<Clock::time_point> deadline) const {
  auto s = std::make_shared<State>();
  s->deadline = deadline;
  s->parent = m_state;
  return Cancel(std::move(s));
}

void Cancel::cancel() const noexcept {
  if (m_state) m_state->flag.store(true);
}

bool Cancel::expired(const State* s) noexcept {
  for (; s; s = s->parent.get())
    if (s->deadline && Clock::now() >= *s->deadline) return true;
  return false;
}

bool Cancel::cancelled(const State* s) noexcept {
  for (; s; s = s->parent.get())
    if (s->flag.load(std::memory_order_relaxed) || (s->signals && interrupt_requested())) return true;
  return false;
}

bool Cancel::cancelled() const noexcept { return cancelled(m_state.get()) || expired(m_state.get()); }

void Cancel::check() const {
  if (cancelled(m_state.get())) throw Error(ErrorKind::interrupted, "interrupted");
  if (expired(m_state.get())) throw Error(ErrorKind::timed_out, "deadline exceeded");
}

}  // namespace wfctl
