#pragma once
// Whether the user asked long work to stop (Ctrl-C, SIGTERM). The shared core (wfctl_base)
// holds this, so each image that links it (the wfctl binary and the DICOM module) has its own
// copy: the binary points it at its signal flag (util/signals.hpp), the module at the check
// the binary hands over through module_api.hpp. The flag itself lives in the binary only.
#include <string_view>

namespace wfctl {

/// Sets how interrupt_requested() asks; nullptr, the start, means "never interrupted".
void set_interrupt_check(bool (*requested)() noexcept) noexcept;

/// Also asks `check(context)` on this thread (nullptr: stop asking): how one call's
/// cancellation token reaches code that only asks here, the DICOM module above all. The
/// core sets it around each module call, so that one thread's call stops alone.
void set_call_check(bool (*check)(const void* context) noexcept, const void* context) noexcept;

/// True once an interrupt was requested, or this thread's call check says so; false while no
/// check is set.
bool interrupt_requested() noexcept;

/// Throws Error(interrupted, "interrupted", hint) once an interrupt was requested; cheap
/// enough for every turn of a loop.
void throw_if_interrupted(std::string_view hint = {});

}  // namespace wfctl
