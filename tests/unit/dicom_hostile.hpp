#pragma once
// Hostile DICOM files for the tests, built in memory: the same encodings as
// tests/hostile/dicom/hostile.py writes (the small ones are kept there as files).
#include <cstdint>
#include <filesystem>
#include <string>

namespace wfctl::test::hostile {

/// The folder of the kept inputs, tests/hostile/dicom.
inline std::filesystem::path inputs() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "hostile" / "dicom";
}

struct Encoding {
  bool explicit_vr = true;
  bool big_endian = false;

  std::string u16(std::uint16_t v) const {
    return big_endian ? std::string{char(v >> 8), char(v & 0xFF)}
                      : std::string{char(v & 0xFF), char(v >> 8)};
  }
  std::string u32(std::uint32_t v) const {
    return big_endian ? u16(std::uint16_t(v >> 16)) + u16(std::uint16_t(v & 0xFFFF))
                      : u16(std::uint16_t(v & 0xFFFF)) + u16(std::uint16_t(v >> 16));
  }
  std::string tag(std::uint16_t group, std::uint16_t element) const {
    return u16(group) + u16(element);
  }

  /// One element; `undefined` writes an undefined length (the value is then the contents).
  std::string element(std::uint16_t group, std::uint16_t number, const std::string& vr,
                      std::string value = {}, bool undefined = false) const {
    if (!undefined && value.size() % 2 == 1)
      value.push_back(vr == "UI" || vr == "OB" || vr == "UN" ? '\0' : ' ');
    const std::uint32_t length = undefined ? 0xFFFFFFFFu : static_cast<std::uint32_t>(value.size());
    const std::string head = tag(group, number);
    if (!explicit_vr) return head + u32(length) + value;
    static const std::string k_long[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ",
                                         "SV", "UC", "UN", "UR", "UT", "UV"};
    for (const auto& l : k_long) {
      if (vr == l) return head + vr + std::string(2, '\0') + u32(length) + value;
    }
    return head + vr + u16(static_cast<std::uint16_t>(length)) + value;
  }
  std::string item(const std::string& content, bool undefined) const {
    return tag(0xFFFE, 0xE000) + u32(undefined ? 0xFFFFFFFFu : std::uint32_t(content.size())) +
           content + (undefined ? tag(0xFFFE, 0xE00D) + u32(0) : std::string());
  }
  std::string sequence_end() const { return tag(0xFFFE, 0xE0DD) + u32(0); }
};

/// A Part 10 file around `dataset` (already encoded in `transfer_syntax`).
inline std::string part10(const std::string& dataset, const std::string& transfer_syntax,
                          const std::string& sop_instance = "1.2.3.4") {
  const Encoding le;
  const std::string meta = le.element(0x0002, 0x0001, "OB", std::string("\0\1", 2)) +
                           le.element(0x0002, 0x0002, "UI", "1.2.840.10008.5.1.4.1.1.4") +
                           le.element(0x0002, 0x0003, "UI", sop_instance) +
                           le.element(0x0002, 0x0010, "UI", transfer_syntax);
  return std::string(128, '\0') + "DICM" +
         le.element(0x0002, 0x0000, "UL", le.u32(std::uint32_t(meta.size()))) + meta + dataset;
}

inline std::string identity(const Encoding& enc) {
  return enc.element(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.4") +
         enc.element(0x0008, 0x0018, "UI", "1.2.3.4") + enc.element(0x0008, 0x0060, "CS", "MR") +
         enc.element(0x0010, 0x0010, "PN", "Hostile^Test") +
         enc.element(0x0010, 0x0020, "LO", "HOSTILE1") +
         enc.element(0x0020, 0x000D, "UI", "1.2.3") + enc.element(0x0020, 0x000E, "UI", "1.2.3.1");
}

/// ContentSequence items holding the next ContentSequence, `levels` deep, in one of explicit
/// little endian ("1.2.840.10008.1.2.1"), implicit ("1.2.840.10008.1.2") or explicit big
/// endian ("1.2.840.10008.1.2.2"), with undefined or defined lengths.
inline std::string deep_nesting(unsigned levels, const std::string& transfer_syntax, bool defined) {
  const Encoding enc{transfer_syntax != "1.2.840.10008.1.2",
                     transfer_syntax == "1.2.840.10008.1.2.2"};
  std::string body = enc.element(0x0040, 0xA040, "CS", "TEXT");
  if (defined) {
    for (unsigned i = 0; i < levels; ++i)
      body = enc.element(0x0040, 0xA730, "SQ", enc.item(body, false));
  } else {
    std::string open, close;
    for (unsigned i = 0; i < levels; ++i) {
      open += enc.element(0x0040, 0xA730, "SQ", {}, true) + enc.tag(0xFFFE, 0xE000) +
              enc.u32(0xFFFFFFFFu);
      close += enc.tag(0xFFFE, 0xE00D) + enc.u32(0) + enc.sequence_end();
    }
    body = open + body + close;
  }
  return part10(identity(enc) + body, transfer_syntax);
}

/// ReferencedImageSequence (0008,1140) with `count` items of one ReferencedSOPInstanceUID.
inline std::string many_items(unsigned count) {
  const Encoding enc;
  std::string items;
  items.reserve(std::size_t(count) * 40);
  for (unsigned i = 0; i < count; ++i) {
    items += enc.item(enc.element(0x0008, 0x1155, "UI", "1.2.3.4.5." + std::to_string(i)), false);
  }
  return part10(identity(enc) + enc.element(0x0008, 0x1140, "SQ", items), "1.2.840.10008.1.2.1");
}

}  // namespace wfctl::test::hostile
