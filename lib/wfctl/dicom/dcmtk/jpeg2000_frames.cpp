// Which fragments of encapsulated pixel data make up one frame (PS3.5 A.4): the Basic Offset
// Table when it is usable, otherwise what the fragments themselves show.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcpxitem.h>

#include <algorithm>
#include <optional>
#include <wfctl/error.hpp>

#include "jpeg2000.hpp"

namespace wfctl::dicom::detail {

namespace {

using Fragment = std::span<const std::uint8_t>;

Error bad_fragments(const std::string& label, const std::string& why) {
  return Error(ErrorKind::invalid_input, label + ": cannot find the JPEG 2000 frames: " + why);
}

std::span<const std::uint8_t> item_bytes(DcmObject* object, unsigned long index,
                                         const std::string& label) {
  auto* item = static_cast<DcmPixelItem*>(object);
  if (item == nullptr) {
    throw bad_fragments(label, "item " + std::to_string(index) + " cannot be read");
  }
  const Uint32 length = item->getLength();
  if (length == 0) return {};
  Uint8* data = nullptr;
  if (item->getUint8Array(data).bad() || data == nullptr) {
    throw bad_fragments(label, "item " + std::to_string(index) + " cannot be read");
  }
  return {data, length};
}

// A frame's codestream starts with SOC and SIZ (PS3.5 A.4.4); some writers put a whole JP2
// file there instead, which OpenJPEG reads too.
bool starts_codestream(Fragment f) {
  static constexpr std::uint8_t k_soc_siz[] = {0xFF, 0x4F, 0xFF, 0x51};
  return (f.size() >= 4 && std::equal(std::begin(k_soc_siz), std::end(k_soc_siz), f.begin())) ||
         is_jp2_file(f);
}

// The first fragment of every frame according to the Basic Offset Table, whose offsets count
// from the first fragment's item tag, 8 bytes of item header included; absent when the table is
// empty or does not point at one fragment start per frame, in order.
std::optional<std::vector<std::size_t>> starts_from_offset_table(
    std::span<const std::uint8_t> table, const std::vector<Fragment>& fragments,
    unsigned long frames) {
  if (table.size() != 4 * frames) return std::nullopt;
  std::vector<std::size_t> starts;
  std::uint64_t position = 0;
  std::size_t k = 0;
  for (unsigned long f = 0; f < frames; ++f) {
    const std::uint64_t offset =
        std::uint64_t(table[4 * f]) | std::uint64_t(table[4 * f + 1]) << 8 |
        std::uint64_t(table[4 * f + 2]) << 16 | std::uint64_t(table[4 * f + 3]) << 24;
    while (k < fragments.size() && position < offset) position += 8 + fragments[k++].size();
    if (k >= fragments.size() || position != offset) return std::nullopt;
    if (!starts.empty() && starts.back() == k) return std::nullopt;
    starts.push_back(k);
  }
  return starts;
}

}  // namespace

bool is_jp2_file(std::span<const std::uint8_t> bytes) {
  static constexpr std::uint8_t k_signature[] = {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50,
                                                 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};
  return bytes.size() >= sizeof k_signature &&
         std::equal(std::begin(k_signature), std::end(k_signature), bytes.begin());
}

std::span<const std::uint8_t> frame_codestream(DcmPixelSequence& sequence, unsigned frame,
                                               unsigned long frames,
                                               std::vector<std::uint8_t>& storage,
                                               const std::string& label) {
  // Fragments through the list's cursor: getItem(i) walks from the first item every time,
  // which made a file of many small fragments quadratic.
  std::vector<Fragment> fragments;
  fragments.reserve(sequence.card());
  DcmObject* const table = sequence.nextInContainer(nullptr);
  unsigned long index = 1;
  for (DcmObject* it = table != nullptr ? sequence.nextInContainer(table) : nullptr; it != nullptr;
       it = sequence.nextInContainer(it), ++index) {
    fragments.push_back(item_bytes(it, index, label));
  }
  if (fragments.empty()) throw bad_fragments(label, "the pixel data has no fragments");

  std::vector<std::size_t> starts;
  if (frames == 1) {
    starts = {0};
  } else if (auto from_table =
                 starts_from_offset_table(item_bytes(table, 0, label), fragments, frames)) {
    starts = std::move(*from_table);
  } else if (fragments.size() == frames) {
    for (std::size_t k = 0; k < frames; ++k) starts.push_back(k);
  } else {
    for (std::size_t k = 0; k < fragments.size(); ++k) {
      if (starts_codestream(fragments[k])) starts.push_back(k);
    }
    if (starts.size() != frames || starts.front() != 0) {
      throw bad_fragments(
          label, std::to_string(fragments.size()) + " fragments, " + std::to_string(starts.size()) +
                     " of them starting a codestream, for " + std::to_string(frames) +
                     " frames, and no usable Basic Offset Table");
    }
  }

  const std::size_t begin = starts.at(frame);
  const std::size_t end = frame + 1 < starts.size() ? starts[frame + 1] : fragments.size();
  if (end - begin == 1) return fragments[begin];
  storage.clear();
  for (std::size_t k = begin; k < end; ++k) {
    storage.insert(storage.end(), fragments[k].begin(), fragments[k].end());
  }
  return storage;
}

}  // namespace wfctl::dicom::detail
