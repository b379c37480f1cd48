#pragma once
// UTF-8 as wfctl checks and measures it.
#include <cstddef>
#include <string_view>

namespace wfctl {

/// The length of the well-formed UTF-8 sequence at s[i] (no overlongs, surrogates or code
/// points past U+10FFFF), with its code point in `cp`; 0 when it is malformed.
std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t& cp);

/// The columns `s` takes on a terminal: East Asian wide and fullwidth characters take two,
/// combining marks and other zero-width characters none, malformed bytes one each.
std::size_t display_width(std::string_view s);

}  // namespace wfctl
