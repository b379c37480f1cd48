#pragma once
// What reaches a terminal: values from DICOM files, config files and stores are text from
// elsewhere, and a control character among them (ESC ] 0; retitles the window, U+009B starts
// a command sequence) would be obeyed by the terminal. On a terminal they are shown escaped.

namespace wfctl::cli {

/// When standard output or standard error is a terminal, makes std::cout or std::cerr show
/// every control character other than newline and tab escaped (\x1b, \u009b), and bytes that
/// are not UTF-8 as \xNN. Pipes and files get the bytes unchanged.
void protect_terminals();

/// Writes `text` to standard error as it is (the progress bar's own escape sequences).
void write_stderr_raw(const char* data, unsigned long size);

}  // namespace wfctl::cli
