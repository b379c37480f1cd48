#pragma once
// Ctrl-C handling: the first SIGINT/SIGTERM asks long operations to stop cleanly (temp
// files removed, exit 130 or 143); a second one, half a second or more later, ends the
// process at once. The binary's only: the flag is process state the DICOM module must not
// copy (it asks through util/interrupt.hpp, which this header brings along).
#include <wfctl/util/interrupt.hpp>

namespace wfctl {
/// Installs the SIGINT/SIGTERM handlers (SIGPIPE keeps its default: `wfctl … | head` ends
/// quietly) and points interrupt_requested() at their flag.
void install_interrupt_handler();
/// Makes a second signal (half a second or more after the first) a second request instead
/// of the end of the process: the worker then stops its handlers and gives their jobs back.
void count_second_signal() noexcept;
/// 0 before any signal, 1 after the first request to stop, 2 after a second one.
int signal_count() noexcept;
/// The signal that asked to stop (SIGINT when none did yet): the exit status is 128 + it.
int interrupt_signal() noexcept;
}  // namespace wfctl
