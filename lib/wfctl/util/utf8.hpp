#pragma once
// UTF-8 as wfctl checks and measures it.
#include <cstddef>
#include <string>
#include <string_view>

namespace wfctl {

/// The length of the well-formed UTF-8 sequence at s[i] (no overlongs, surrogates or code
/// points past U+10FFFF), with its code point in `cp`; 0 when it is malformed.
std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t& cp);

/// True when `s` is well-formed UTF-8.
bool is_valid_utf8(std::string_view s);

/// `s` with every byte that does not start a well-formed sequence (as utf8_sequence judges)
/// replaced by U+FFFD: text from files that promise UTF-8 and do not keep the promise.
std::string to_valid_utf8(std::string_view s);

/// Cuts `s` to at most `max_bytes` without splitting a well-formed sequence (a malformed byte
/// counts as one character).
void truncate_utf8(std::string& s, std::size_t max_bytes);

/// True for the C1 controls U+0080..U+009F (U+009B is a CSI to terminals).
constexpr bool is_c1_control(char32_t cp) noexcept { return cp >= 0x80 && cp <= 0x9f; }

/// True when `s` is UTF-8 holding a C0 control (newline and tab included), DEL or a C1
/// control (U+0080..U+009F), or is not UTF-8 at all: text that must not reach a terminal.
bool has_control_or_bad_utf8(std::string_view s);

/// The columns `s` takes on a terminal: East Asian wide and fullwidth characters take two,
/// combining marks and other zero-width characters none, malformed bytes one each.
std::size_t display_width(std::string_view s);

}  // namespace wfctl
