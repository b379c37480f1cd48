#pragma once
// Ctrl-C handling: the first SIGINT/SIGTERM asks long operations to stop cleanly (temp
// files removed, exit 130 or 143); a second one, half a second or more later, ends the
// process at once.
namespace wfctl {
/// Installs the SIGINT/SIGTERM handlers (SIGPIPE keeps its default: `wfctl … | head` ends quietly).
void install_interrupt_handler();
/// True once an interrupt was requested. Operations look at their Cancel token
/// (Cancel::on_signal() follows this flag); only what no operation's token reaches, reading a
/// document or stdin in the CLI, asks here directly.
bool interrupt_requested() noexcept;
/// The signal that asked to stop (SIGINT when none did yet): the exit status is 128 + it.
int interrupt_signal() noexcept;
/// Throws Error(interrupted) when an interrupt was requested.
void throw_if_interrupted();
}  // namespace wfctl
