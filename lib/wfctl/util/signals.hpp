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
/// The signal that asked to stop (SIGINT when none did yet): the exit status is 128 + it.
int interrupt_signal() noexcept;
}  // namespace wfctl
