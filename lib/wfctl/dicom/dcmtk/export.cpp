// Exporting files into a PatientID/Study/Series/Instance tree, optionally de-identified.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <optional>
#include <wfctl/dicom/dicom.hpp>
#include <wfctl/error.hpp>

#include "anonymize.hpp"
#include "dcmtk_support.hpp"

namespace wfctl::dicom {

namespace fs = std::filesystem;

namespace {

bool is_windows_device_name(std::string_view name) {
  // Windows treats these as devices whatever the extension, so "NUL.dcm" is NUL too.
  const std::string_view stem = name.substr(0, name.find('.'));
  std::string upper(stem);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  static constexpr std::array<std::string_view, 4> k_plain{"CON", "PRN", "AUX", "NUL"};
  if (std::find(k_plain.begin(), k_plain.end(), upper) != k_plain.end()) return true;
  return upper.size() == 4 && (upper.starts_with("COM") || upper.starts_with("LPT")) &&
         upper[3] >= '0' && upper[3] <= '9';
}

void trim_trailing_dots_and_spaces(std::string& s) {
  while (!s.empty() && (s.back() == '.' || s.back() == ' ')) s.pop_back();
}

// Cuts to at most `max_bytes` without leaving half a UTF-8 sequence at the end.
void truncate_utf8(std::string& s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return;
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
}

fs::path target_path(const fs::path& dir, DcmDataset& ds) {
  const auto component = [&](const DcmTagKey& tag) {
    return safe_path_component(detail::get_string(ds, tag));
  };
  // 251 leaves room for ".dcm" within the 255 bytes most filesystems allow for a name.
  return dir / component(DCM_PatientID) / component(DCM_StudyInstanceUID) /
         component(DCM_SeriesInstanceUID) /
         (safe_path_component(detail::get_string(ds, DCM_SOPInstanceUID), 251) + ".dcm");
}

void create_parent(const fs::path& target) {
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) {
    throw Error(ErrorKind::internal,
                "cannot create directory " + target.parent_path().string() + ": " + ec.message());
  }
}

}  // namespace

std::string safe_path_component(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool forbidden = byte < 0x20 || byte == 0x7F || std::strchr("/\\:*?\"<>|", c) != nullptr;
    out.push_back(forbidden ? '_' : c);
  }
  // A leading dot hides the entry (and "." / ".." would name other directories); leading
  // spaces are legal but invisible and a trap in every shell.
  out.erase(0, out.find_first_not_of(". "));
  truncate_utf8(out, max_bytes);
  // Windows silently drops trailing dots and spaces, so "a." and "a" would collide there.
  trim_trailing_dots_and_spaces(out);
  if (out.empty()) out = "unknown";
  if (is_windows_device_name(out)) {
    out.insert(0, "_");
    truncate_utf8(out, max_bytes);
    trim_trailing_dots_and_spaces(out);
  }
  return out;
}

std::vector<Exported> export_tree(const std::vector<ExportSource>& sources, const std::string& dir,
                                  bool anonymize) {
  std::optional<detail::Anonymizer> anonymizer;
  if (anonymize) anonymizer.emplace();
  std::vector<Exported> exported;
  exported.reserve(sources.size());
  for (const ExportSource& source : sources) {
    const std::string label = source.label.empty() ? source.path : source.label;
    detail::Loaded loaded = detail::load_file(source.path, label);
    if (anonymizer) anonymizer->apply(loaded.dataset());
    const fs::path target = target_path(dir, loaded.dataset());
    create_parent(target);

    detail::TempFile temp(target);
    if (!anonymizer && loaded.part10) {
      // The file as it came, byte for byte: re-encoding could change lengths, padding or
      // private data that the exporter has no reason to touch.
      temp.close_fd();
      std::error_code ec;
      fs::copy_file(source.path, temp.path(), fs::copy_options::overwrite_existing, ec);
      if (ec) {
        throw Error(ErrorKind::internal,
                    label + ": cannot copy to " + target.string() + ": " + ec.message());
      }
    } else {
      // A bare data set gets a meta header; a de-identified one gets a new meta header, since
      // the old one holds the original SOP Instance UID and the sender's AE title.
      temp.close_fd();
      const E_FileWriteMode mode = anonymizer ? EWM_createNewMeta : EWM_fileformat;
      const OFCondition cond =
          loaded.file->saveFile(temp.path().c_str(), EXS_Unknown, EET_ExplicitLength, EGL_recalcGL,
                                EPD_noChange, 0, 0, mode);
      if (cond.bad()) {
        throw Error(ErrorKind::internal,
                    label + ": cannot write " + target.string() + ": " + cond.text());
      }
    }
    temp.commit();
    exported.push_back({label, target.string()});
  }
  return exported;
}

}  // namespace wfctl::dicom
