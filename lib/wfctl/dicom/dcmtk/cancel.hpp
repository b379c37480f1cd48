#pragma once
// Ctrl-C inside the DICOM module: the core hands over how to ask whether an interrupt came
// (the module does not link the core, so it cannot read the core's flag itself).

namespace wfctl::dicom::detail {

/// Sets the question; called once by the core when it loads the module.
void set_interrupt_check(bool (*requested)() noexcept);

/// Throws Error(interrupted) once Ctrl-C or SIGTERM came; cheap enough for every loop turn.
void throw_if_interrupted();

}  // namespace wfctl::dicom::detail
