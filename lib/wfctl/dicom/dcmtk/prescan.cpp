// The nesting pre-scan and the stack guard (see prescan.hpp). The scan follows DCMTK 3.6.7's
// reader (DcmItem::readTagAndLength, newDicomElement, DcmSequenceOfItems::read) in how it
// sizes length fields and which elements it reads as sequences, with DCMTK's default flags:
//  - explicit VR: the VR in the stream decides (DcmVR's table, non-standard names included);
//    SQ is a sequence, UN (or an unknown VR) of undefined length is a sequence read in
//    implicit VR little endian (CP-246), Pixel Data of undefined length holds fragments;
//  - implicit VR: the data dictionary decides, private tags through their private creator;
//  - items and delimiters always have 4-byte lengths and no VR.
// Where DCMTK would stop with an error, the scan stops too: what follows is never parsed.
#include "prescan.hpp"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dctag.h>
#include <dcmtk/dcmdata/dcvr.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <memory>
#include <vector>
#include <wfctl/dicom/dicom.hpp>
#include <wfctl/error.hpp>
#include <wfctl/util/interrupt.hpp>

namespace wfctl::dicom::detail {

namespace {

constexpr std::uint64_t k_undefined = ~std::uint64_t{0};
constexpr std::uint32_t k_undefined32 = 0xFFFFFFFFu;

Error too_deep(const std::string& label, std::uint64_t offset, const std::string& where) {
  const std::string levels = std::to_string(k_max_sequence_depth);
  return Error(ErrorKind::invalid_input,
               label + ": sequences nested more than " + levels + " levels deep (level " +
                   std::to_string(k_max_sequence_depth + 1) +
                   (where.empty() ? "" : " starts at byte " + std::to_string(offset) + where) +
                   "): refusing to read it",
               "wfctl reads DICOM files with at most " + std::to_string(k_max_sequence_depth) +
                   " levels of nested sequences");
}

// ---------------------------------------------------------------------------------------------
// Byte sources with a buffer on top, so that headers cost a memcpy rather than a virtual call.

class Source {
 public:
  virtual ~Source() = default;
  /// Up to `n` bytes into `out`; 0 at the end.
  virtual std::size_t read(std::uint8_t* out, std::size_t n) = 0;
  /// Skips up to `n` bytes; returns how many were skipped.
  virtual std::uint64_t skip(std::uint64_t n) = 0;
};

class StreamSource final : public Source {
 public:
  explicit StreamSource(DcmInputStream& in) : m_in(in) {}
  std::size_t read(std::uint8_t* out, std::size_t n) override {
    if (!m_in.good() || m_in.eos()) return 0;
    return static_cast<std::size_t>(m_in.read(out, static_cast<offile_off_t>(n)));
  }
  std::uint64_t skip(std::uint64_t n) override {
    std::uint64_t done = 0;
    while (done < n && m_in.good() && !m_in.eos()) {
      const std::uint64_t step = std::min<std::uint64_t>(n - done, std::uint64_t{1} << 30);
      const offile_off_t got = m_in.skip(static_cast<offile_off_t>(step));
      if (got <= 0) break;
      done += static_cast<std::uint64_t>(got);
    }
    return done;
  }

 private:
  DcmInputStream& m_in;
};

class MemorySource final : public Source {
 public:
  explicit MemorySource(std::span<const std::uint8_t> bytes) : m_bytes(bytes) {}
  std::size_t read(std::uint8_t* out, std::size_t n) override {
    const std::size_t k = std::min(n, m_bytes.size());
    std::memcpy(out, m_bytes.data(), k);
    m_bytes = m_bytes.subspan(k);
    return k;
  }
  std::uint64_t skip(std::uint64_t n) override {
    const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(n, m_bytes.size()));
    m_bytes = m_bytes.subspan(k);
    return k;
  }

 private:
  std::span<const std::uint8_t> m_bytes;
};

class Reader {
 public:
  explicit Reader(Source& source) : m_source(source), m_buffer(k_size) {}

  /// The position in the stream: bytes consumed so far.
  std::uint64_t pos() const { return m_base + m_at; }

  /// The next `n` bytes (at most the buffer, 64 KiB) without consuming them; nullptr when the
  /// stream ends first.
  const std::uint8_t* peek(std::size_t n) {
    if (m_len - m_at >= n) return m_buffer.data() + m_at;
    std::memmove(m_buffer.data(), m_buffer.data() + m_at, m_len - m_at);
    m_base += m_at;
    m_len -= m_at;
    m_at = 0;
    while (m_len < n) {
      const std::size_t got = m_source.read(m_buffer.data() + m_len, m_buffer.size() - m_len);
      if (got == 0) return nullptr;
      m_len += got;
    }
    return m_buffer.data();
  }

  /// Consumes `n` bytes that peek() returned.
  void advance(std::size_t n) { m_at += n; }

  /// Consumes `n` bytes; false when the stream ends first.
  bool skip(std::uint64_t n) {
    const std::size_t buffered = m_len - m_at;
    if (n <= buffered) {
      m_at += static_cast<std::size_t>(n);
      return true;
    }
    m_base += m_len;
    m_at = m_len = 0;
    const std::uint64_t rest = n - buffered;
    const std::uint64_t skipped = m_source.skip(rest);
    m_base += skipped;
    return skipped == rest;
  }

 private:
  static constexpr std::size_t k_size = 1 << 16;
  Source& m_source;
  std::vector<std::uint8_t> m_buffer;
  std::size_t m_at = 0, m_len = 0;
  std::uint64_t m_base = 0;
};

// ---------------------------------------------------------------------------------------------

struct Syntax {
  bool explicit_vr = true;
  bool big_endian = false;
};

constexpr Syntax k_implicit_le{false, false};

std::uint16_t u16(const std::uint8_t* p, bool big) {
  return big ? std::uint16_t(p[0] << 8 | p[1]) : std::uint16_t(p[1] << 8 | p[0]);
}

std::uint32_t u32(const std::uint8_t* p, bool big) {
  return big ? std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 |
                   p[3]
             : std::uint32_t(p[3]) << 24 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[1]) << 8 |
                   p[0];
}

// What DcmVR makes of two VR bytes, looked up once per distinct pair in a scan.
class VrTable {
 public:
  VrTable() : m_evr(std::make_unique<std::uint8_t[]>(1 << 16)) {}
  DcmEVR lookup(const std::uint8_t* bytes) {
    const unsigned key = unsigned(bytes[0]) << 8 | bytes[1];
    std::uint8_t& slot = m_evr[key];
    if (slot == 0) {
      const char name[3] = {static_cast<char>(bytes[0]), static_cast<char>(bytes[1]), '\0'};
      slot = static_cast<std::uint8_t>(DcmVR(name).getEVR() + 1);
    }
    return static_cast<DcmEVR>(slot - 1);
  }

 private:
  std::unique_ptr<std::uint8_t[]> m_evr;
};

bool extended_length(DcmEVR evr) {
  static const auto table = [] {
    std::array<bool, 256> t{};
    for (int e = 0; e < EVR_UNKNOWN2B + 1 && e < 256; ++e)
      t[e] = DcmVR(static_cast<DcmEVR>(e)).usesExtendedLengthEncoding();
    return t;
  }();
  return evr >= 0 && evr < 256 && table[evr];
}

bool is_unknown_vr(DcmEVR evr) {
  return evr == EVR_UN || evr == EVR_UNKNOWN || evr == EVR_UNKNOWN2B;
}

// The VRs for which DCMTK reads Pixel Data of undefined length as encapsulated fragments.
bool pixel_data_vr(DcmEVR evr) {
  return evr == EVR_OB || evr == EVR_OW || evr == EVR_ox || evr == EVR_PixelData;
}

enum class Kind : std::uint8_t { elements, items, fragments };

struct Frame {
  Kind kind;
  Syntax syntax;
  std::uint64_t end;           // k_undefined: ends at its delimiter (or the stream)
  std::uint32_t creators_at;   // size of the private creator list when the frame was entered
  std::uint32_t last_key = 0;  // the greatest tag so far, and how many elements came
  std::uint32_t count = 0;
};

struct Creator {
  std::uint16_t group;
  std::uint8_t block;
  std::uint8_t length;
  char name[64];
};

class Scanner {
 public:
  Scanner(Reader& reader, const std::string& label, unsigned depth, std::string where = {})
      : m_reader(reader), m_label(label), m_where(std::move(where)), m_depth(depth) {
    m_stack.reserve(2 * k_max_sequence_depth + 4);
  }

  /// Scans the contents of one frame (the data set, or the value of a sequence) until it ends,
  /// the stream ends or DCMTK would stop.
  void run(Kind kind, Syntax syntax, std::uint32_t length = k_undefined32, bool level = false) {
    push(kind, syntax, length, level);
    std::size_t steps = 0;
    while (!m_stack.empty() && step()) {
      if ((++steps & 0xffff) == 0) throw_if_interrupted("nothing was written");
    }
    m_stack.clear();
  }

  /// The meta information group (explicit VR little endian unless the writer used implicit):
  /// elements up to the group length, then for as long as group 0002 continues. Returns the
  /// Transfer Syntax UID (empty when absent) and leaves the reader at the data set.
  std::string meta(Syntax syntax) {
    m_capture = true;
    m_stack.push_back({Kind::elements, syntax, k_undefined, 0});
    const std::uint64_t start = m_reader.pos();
    while (true) {
      if (m_stack.size() == 1) {
        const std::uint8_t* head = m_reader.peek(4);
        const bool past_length = m_group_length == 0 || m_reader.pos() >= start + m_group_length;
        if (head == nullptr || (past_length && u16(head, false) != 0x0002)) break;
      }
      if (!step()) break;
    }
    m_stack.clear();
    m_capture = false;
    return m_transfer_syntax;
  }

 private:
  // One element, item or fragment of the innermost frame; false to stop scanning.
  bool step() {
    Frame& frame = m_stack.back();
    if (frame.end != k_undefined && m_reader.pos() >= frame.end) {
      pop();
      return true;
    }
    switch (frame.kind) {
      case Kind::elements:
        return element(frame);
      case Kind::items:
        return item(frame, false);
      case Kind::fragments:
        return item(frame, true);
    }
    return false;
  }

  bool item(const Frame& frame, bool fragments) {
    const std::uint8_t* head = m_reader.peek(8);
    if (head == nullptr) return false;
    const std::uint16_t group = u16(head, frame.syntax.big_endian);
    const std::uint16_t element = u16(head + 2, frame.syntax.big_endian);
    const std::uint32_t length = u32(head + 4, frame.syntax.big_endian);
    m_reader.advance(8);
    if (group != 0xFFFE) return false;          // DCMTK: not an item, an error
    if (element == 0xE0DD) return pop(), true;  // sequence delimiter
    if (element != 0xE000) return false;
    if (fragments) return length != k_undefined32 && m_reader.skip(length);
    push(Kind::elements, frame.syntax, length, false);  // items do not add a level
    return true;
  }

  bool element(const Frame& frame) {
    const bool big = frame.syntax.big_endian;
    const std::uint8_t* head = m_reader.peek(4);
    if (head == nullptr) return false;
    const std::uint16_t group = u16(head, big);
    const std::uint16_t number = u16(head + 2, big);
    const std::uint64_t at = m_reader.pos();
    m_reader.advance(4);
    order(m_stack.back(), std::uint32_t(group) << 16 | number, at);

    if (group == 0xFFFE && (number == 0xE000 || number == 0xE00D || number == 0xE0DD)) {
      // Delimiters have no VR. An item delimiter ends the item (in the data set DCMTK stops
      // reading there); an item or a sequence delimiter here is an error to DCMTK.
      if (!m_reader.skip(4) || number != 0xE00D || m_stack.size() == 1) return false;
      pop();
      return true;
    }

    DcmEVR evr = EVR_UNKNOWN;
    std::uint32_t length = 0;
    // The value length: 4 bytes, or 2 for the short explicit VRs; false when the data ends.
    const auto read_length = [&](std::size_t bytes) {
      const std::uint8_t* p = m_reader.peek(bytes);
      if (p == nullptr) return false;
      length = bytes == 4 ? u32(p, big) : u16(p, big);
      m_reader.advance(bytes);
      return true;
    };
    if (frame.syntax.explicit_vr) {
      const std::uint8_t* vr = m_reader.peek(2);
      if (vr == nullptr) return false;
      evr = m_vrs.lookup(vr);
      m_reader.advance(2);
      const bool long_length = evr == EVR_na || extended_length(evr);
      if (long_length && evr != EVR_na && !m_reader.skip(2)) return false;
      if (!read_length(long_length ? 4 : 2)) return false;
    } else {
      if (!read_length(4)) return false;
      evr = dictionary_vr(group, number);
    }

    const bool undefined = length == k_undefined32;
    if (evr == EVR_SQ) {
      push(Kind::items, frame.syntax, length, true, at);
      return true;
    }
    if (undefined) {
      if (is_unknown_vr(evr)) {
        push(Kind::items, k_implicit_le, length, true, at);  // CP-246
        return true;
      }
      if (group == 0x7FE0 && number == 0x0010 && pixel_data_vr(evr)) {
        push(Kind::fragments, frame.syntax, length, true, at);
        return true;
      }
      return false;  // DCMTK refuses other values of undefined length
    }
    if (m_capture && m_stack.size() == 1) return capture(group, number, length);
    if ((group & 1) != 0 && number >= 0x0010 && number <= 0x00FF)
      return creator(group, number, length);
    return m_reader.skip(length);
  }

  // DCMTK keeps an item's elements sorted in a linked list and inserts each one it reads by
  // walking back from the end: elements in descending order cost a walk over all before them
  // (100 000 of them, 1.2 MB, took a minute). The walks are bounded here by what they could
  // cost at most, which in files that are in order (as DICOM requires) is nothing.
  void order(Frame& frame, std::uint32_t key, std::uint64_t at) {
    if (frame.count > 0 && key < frame.last_key) {
      m_disorder += frame.count;
      if (m_disorder > k_max_disorder) {
        throw Error(ErrorKind::invalid_input,
                    m_label + ": too many elements out of ascending tag order (at byte " +
                        std::to_string(at) + m_where + "): refusing to read it",
                    "DICOM requires the elements of a data set or item in ascending tag order");
      }
    } else {
      frame.last_key = key;
    }
    ++frame.count;
  }

  // In implicit VR the dictionary gives the VR; a private element's entry is found through the
  // private creator of its block, as DcmItem::readTagAndLength does.
  DcmEVR dictionary_vr(std::uint16_t group, std::uint16_t number) {
    if ((group & 1) != 0 && number >= 0x1000) {
      const Creator* c = find_creator(group, static_cast<std::uint8_t>(number >> 8));
      if (c == nullptr) return EVR_UNKNOWN;
      const std::string name(c->name, c->length);
      return DcmTag(group, number, name.c_str()).getEVR();
    }
    // Public tags repeat constantly; a small direct-mapped cache avoids most dictionary locks.
    const std::uint32_t key = std::uint32_t(group) << 16 | number;
    auto& slot = m_tags[(key * 2654435761u) >> 22];
    if (slot.first != key || slot.second == 0) {
      slot = {key, static_cast<std::uint8_t>(DcmTag(group, number).getEVR() + 1)};
    }
    return static_cast<DcmEVR>(slot.second - 1);
  }

  // A private creator (gggg,00xx): remembered for its item, so that implicit VR elements of
  // block xx find their dictionary entry. Values past 64 bytes are no creator DCMTK knows.
  bool creator(std::uint16_t group, std::uint16_t number, std::uint32_t length) {
    if (frame_creators() >= k_max_creators || length > 64) return m_reader.skip(length);
    Creator c{group, static_cast<std::uint8_t>(number), 0, {}};
    std::uint32_t left = length;
    while (left > 0) {
      const std::uint32_t n = std::min<std::uint32_t>(left, 16);
      const std::uint8_t* p = m_reader.peek(n);
      if (p == nullptr) return false;
      std::memcpy(c.name + (length - left), p, n);
      m_reader.advance(n);
      left -= n;
    }
    std::size_t size = length;
    while (size > 0 && (c.name[size - 1] == ' ' || c.name[size - 1] == '\0')) --size;
    std::size_t start = 0;
    while (start < size && c.name[start] == ' ') ++start;
    std::memmove(c.name, c.name + start, size - start);
    c.length = static_cast<std::uint8_t>(size - start);
    m_creators.push_back(c);
    return true;
  }

  const Creator* find_creator(std::uint16_t group, std::uint8_t block) const {
    const std::uint32_t from = m_stack.back().creators_at;
    for (std::size_t i = m_creators.size(); i-- > from;) {
      if (m_creators[i].group == group && m_creators[i].block == block) return &m_creators[i];
    }
    return nullptr;
  }

  std::size_t frame_creators() const { return m_creators.size() - m_stack.back().creators_at; }

  bool capture(std::uint16_t group, std::uint16_t number, std::uint32_t length) {
    if (group != 0x0002 || (number != 0x0000 && number != 0x0010) || length > 64) {
      return m_reader.skip(length);
    }
    std::array<char, 64> value{};
    std::uint32_t left = length;
    while (left > 0) {
      const std::uint32_t n = std::min<std::uint32_t>(left, 16);
      const std::uint8_t* p = m_reader.peek(n);
      if (p == nullptr) return false;
      std::memcpy(value.data() + (length - left), p, n);
      m_reader.advance(n);
      left -= n;
    }
    if (number == 0x0000 && length == 4) {
      m_group_length = u32(reinterpret_cast<const std::uint8_t*>(value.data()), false);
    } else if (number == 0x0010) {
      std::size_t size = length;
      while (size > 0 && (value[size - 1] == ' ' || value[size - 1] == '\0')) --size;
      m_transfer_syntax.assign(value.data(), size);
    }
    return true;
  }

  void push(Kind kind, Syntax syntax, std::uint32_t length, bool level, std::uint64_t at = 0) {
    if (level && ++m_depth > k_max_sequence_depth) throw too_deep(m_label, at, m_where);
    const std::uint64_t end = length == k_undefined32 ? k_undefined : m_reader.pos() + length;
    m_stack.push_back({kind, syntax, end, static_cast<std::uint32_t>(m_creators.size())});
  }

  void pop() {
    if (m_stack.back().kind != Kind::elements) --m_depth;
    m_creators.resize(m_stack.back().creators_at);
    m_stack.pop_back();
  }

  static constexpr std::size_t k_max_creators = 240;  // one per block of a group
  // About a second of DCMTK's list walking (some 10 ns a step).
  static constexpr std::uint64_t k_max_disorder = std::uint64_t{1} << 26;

  Reader& m_reader;
  const std::string& m_label;
  std::string m_where;  // what byte offsets count from, for the message
  unsigned m_depth;
  std::vector<Frame> m_stack;
  std::vector<Creator> m_creators;
  VrTable m_vrs;
  std::array<std::pair<std::uint32_t, std::uint8_t>, 1024> m_tags{};
  std::uint64_t m_disorder = 0;  // the most steps DCMTK's sorted inserts could take so far
  bool m_capture = false;
  std::uint32_t m_group_length = 0;
  std::string m_transfer_syntax;
};

// DcmItem::checkTransferSyntax's guess for a data set without a usable Transfer Syntax UID:
// explicit when the bytes after the tag name a standard VR, big endian when the group number
// only makes sense read that way.
Syntax guess_syntax(Reader& reader) {
  const std::uint8_t* head = reader.peek(6);
  if (head == nullptr) return {};
  const char name[3] = {static_cast<char>(head[4]), static_cast<char>(head[5]), '\0'};
  const DcmVR vr(name);
  const bool explicit_vr = vr.isStandard() && std::strncmp(vr.getVRName(), name, 2) == 0;
  const std::uint16_t little = u16(head, false), big = u16(head, true);
  return {explicit_vr, little > 0xFF && big <= 0xFF};
}

}  // namespace

void check_nesting(const std::string& path, const std::string& label) {
  DcmInputFileStream stream{OFFilename(path.c_str())};
  if (stream.status().bad()) return;  // reading it reports that
  StreamSource source(stream);
  Reader reader(source);
  Scanner scanner(reader, label, 0, " of the file");

  std::string transfer_syntax;
  const std::uint8_t* head = reader.peek(132);
  const bool part10 = head != nullptr && std::memcmp(head + 128, "DICM", 4) == 0;
  if (part10) reader.advance(132);
  // A meta header follows "DICM" (or starts a bare file); some writers encode it implicitly.
  if (const std::uint8_t* meta = reader.peek(6); meta != nullptr && u16(meta, false) == 0x0002) {
    const bool letters = std::isupper(meta[4]) && std::isupper(meta[5]);
    transfer_syntax = scanner.meta({letters, false});
  }
  const std::uint64_t dataset_start = reader.pos();

  const DcmXfer xfer(transfer_syntax.c_str());
  if (transfer_syntax.empty() || xfer.getXfer() == EXS_Unknown) {
    scanner.run(Kind::elements, guess_syntax(reader));
    return;
  }
  const Syntax syntax{xfer.isExplicitVR(), xfer.getByteOrder() == EBO_BigEndian};
  if (xfer.getStreamCompression() == ESC_none) {
    scanner.run(Kind::elements, syntax);
    return;
  }
  // Deflated: the data set is read through DCMTK's own inflater, from where it starts.
  DcmInputFileStream inflated{OFFilename(path.c_str()), static_cast<offile_off_t>(dataset_start)};
  if (inflated.status().bad() ||
      inflated.installCompressionFilter(xfer.getStreamCompression()).bad()) {
    return;
  }
  StreamSource inflated_source(inflated);
  Reader inflated_reader(inflated_source);
  Scanner(inflated_reader, label, 0, " of the inflated data set").run(Kind::elements, syntax);
}

void check_nesting_implicit(std::span<const std::uint8_t> value, unsigned depth,
                            const std::string& label) {
  MemorySource source(value);
  Reader reader(source);
  Scanner scanner(reader, label, depth, " of its value");
  scanner.run(Kind::items, k_implicit_le, static_cast<std::uint32_t>(value.size()), true);
}

void check_tree_depth(DcmItem& item, unsigned depth, const std::string& label) {
  // Each entry: a container and the child last visited (nullptr: none yet).
  struct Entry {
    DcmObject* container;
    DcmObject* child;
  };
  std::vector<Entry> stack;
  stack.reserve(2 * k_max_sequence_depth + 2);
  stack.push_back({&item, nullptr});
  unsigned level = depth;
  while (!stack.empty()) {
    Entry& top = stack.back();
    top.child = top.container->nextInContainer(top.child);
    if (top.child == nullptr) {
      if (top.container->ident() == EVR_SQ) --level;
      stack.pop_back();
      continue;
    }
    const DcmEVR kind = top.child->ident();
    if (kind == EVR_SQ) {
      if (++level > k_max_sequence_depth) throw too_deep(label, 0, {});
      stack.push_back({top.child, nullptr});
    } else if (kind == EVR_item || kind == EVR_dirRecord) {
      stack.push_back({top.child, nullptr});
    }
  }
}

std::string stack_guard_message(const std::string& label) {
  return label + ": sequences nested too deeply to read safely (more than " +
         std::to_string(k_max_sequence_depth) + " levels are refused)";
}

// The lowest stack address at which the guard still lets DCMTK read: 2 MiB below the caller's
// frame, and never closer than half a megabyte to the end of the thread's stack.
std::uintptr_t stack_floor() {
  // 2 MiB hold many times the frames of k_max_sequence_depth levels, even with sanitizers;
  // half a megabyte below that is left for what runs after a refused read.
  constexpr std::uintptr_t k_budget = 2u << 20, k_reserve = 512u << 10;
  const auto here = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  std::uintptr_t lowest = 0;
  pthread_attr_t attr;
  if (::pthread_getattr_np(::pthread_self(), &attr) == 0) {
    void* address = nullptr;
    std::size_t size = 0;
    if (::pthread_attr_getstack(&attr, &address, &size) == 0) {
      lowest = reinterpret_cast<std::uintptr_t>(address);
    }
    ::pthread_attr_destroy(&attr);
  }
  const std::uintptr_t by_budget = here > k_budget ? here - k_budget : 0;
  return std::max(by_budget, lowest + k_reserve);
}

bool below_stack_floor(std::uintptr_t floor) {
  return reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)) < floor;
}

OFCondition stack_exhausted() {
  return makeOFCondition(OFM_dcmdata, 0xFF01, OF_error,
                         "Sequences nested too deeply to read safely");
}


}  // namespace wfctl::dicom::detail
