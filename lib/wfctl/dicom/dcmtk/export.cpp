// Exporting files into a PatientID/Study/Series/Instance tree, optionally de-identified.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcostrmf.h>
#include <dcmtk/dcmdata/dcwcache.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <memory>
#include <optional>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>
#include <wfctl/dicom/dicom.hpp>
#include <wfctl/error.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/interrupt.hpp>
#include <wfctl/util/utf8.hpp>

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

fs::path target_path(const fs::path& dir, DcmDataset& ds) {
  const auto component = [&](const DcmTagKey& tag) {
    return safe_path_component(detail::get_string(ds, tag));
  };
  // 251 leaves room for ".dcm" within the 255 bytes most filesystems allow for a name.
  return dir / component(DCM_PatientID) / component(DCM_StudyInstanceUID) /
         component(DCM_SeriesInstanceUID) /
         (safe_path_component(detail::get_string(ds, DCM_SOPInstanceUID), 251) + ".dcm");
}

// The directories between `dir` and `target`'s parent that do not exist yet, outermost first.
std::vector<fs::path> missing_dirs(const fs::path& dir, const fs::path& target) {
  std::vector<fs::path> missing;
  std::error_code ec;
  for (fs::path p = target.parent_path(); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    missing.insert(missing.begin(), p);
    if (p == dir) break;
  }
  return missing;
}

// Everything an export created, undone unless release() was called: written files go, files
// they replaced come back, directories it made are removed again.
class Rollback {
 public:
  ~Rollback() {
    if (m_released) return;
    for (auto it = m_published.rbegin(); it != m_published.rend(); ++it) {
      if (!it->backup.empty()) ::rename(it->backup.c_str(), it->target.c_str());
      else ::unlink(it->target.c_str());
    }
    for (auto it = m_dirs.rbegin(); it != m_dirs.rend(); ++it) ::rmdir(it->c_str());
  }
  void made_dir(const fs::path& p) { m_dirs.push_back(p); }
  void published(const fs::path& target, const fs::path& backup) { m_published.push_back({target, backup}); }
  /// Keeps what was written and drops the backups of replaced files.
  void release() {
    m_released = true;
    for (const auto& p : m_published)
      if (!p.backup.empty()) ::unlink(p.backup.c_str());
  }

 private:
  struct Published {
    fs::path target, backup;
  };
  std::vector<Published> m_published;
  std::vector<fs::path> m_dirs;
  bool m_released = false;
};

void make_dirs(const fs::path& dir, const fs::path& target, Rollback& rollback) {
  for (const auto& p : missing_dirs(dir, target)) {
    if (::mkdir(p.c_str(), 0777) != 0 && errno != EEXIST) throw errno_error(errno, "cannot create directory " + p.string());
    rollback.made_dir(p);
  }
  std::error_code ec;
  if (!fs::is_directory(target.parent_path(), ec))
    throw errno_error(ENOTDIR, "cannot create directory " + target.parent_path().string());
}

// The source loaded (and de-identified) as it will be written.
detail::Loaded prepare(const ExportSource& source, const std::string& label,
                       std::optional<detail::Anonymizer>& anonymizer) {
  detail::Loaded loaded = detail::load_file(source.path, label);
  // Re-encoding (de-identified, or a bare data set given a meta header) needs pixel data DCMTK
  // can write; found here, in the first pass, the export stops before it writes anything.
  if ((anonymizer || !loaded.part10) &&
      detail::fragments_in_native(loaded.dataset(), loaded.original_xfer())) {
    throw Error(
        ErrorKind::invalid_input,
        label +
            ": cannot be re-encoded: its pixel data is in fragments although its transfer syntax " +
            detail::xfer_description(loaded.original_xfer()) + " is native");
  }
  if (anonymizer) anonymizer->apply(loaded.dataset(), label);
  return loaded;
}

// The source byte for byte: re-encoding could change lengths, padding or private data that
// the exporter has no reason to touch.
void copy_as_is(const ExportSource& source, int out, const fs::path& target) {
  const UniqueFd in = open_for_reading(source.path);
  std::vector<char> buffer(1 << 20);
  while (const std::size_t n = read_some(in.get(), buffer.data(), buffer.size(), source.path))
    write_all(out, buffer.data(), n, target.string());
}

// What saveFile() does, into the open temporary file instead of a named one.
void save_into(const std::string& label, detail::Loaded& loaded, E_FileWriteMode mode, int out,
               const fs::path& target) {
  const int copy = ::fcntl(out, F_DUPFD_CLOEXEC, 0);
  FILE* file = copy < 0 ? nullptr : ::fdopen(copy, "wb");
  if (file == nullptr) {
    const int err = errno;
    if (copy >= 0) ::close(copy);
    throw errno_error(err, label + ": cannot write " + target.string());
  }
  OFCondition cond;
  int err = 0;
  {
    DcmOutputFileStream stream(file);  // closes `file`
    DcmWriteCache cache;
    errno = 0;
    loaded.file->transferInit();
    cond = loaded.file->write(stream, EXS_Unknown, EET_ExplicitLength, &cache, EGL_recalcGL,
                              EPD_noChange, 0, 0, 0, mode);
    loaded.file->transferEnd();
    // What stdio still buffers must reach the file while a failure can be told.
    if (cond.good() && std::fflush(file) != 0) cond = EC_InvalidStream;
    err = errno;
  }
  if (cond.bad()) {
    // A failed write of the file (full disk, I/O error) leaves its errno; anything else DCMTK
    // refuses is the content's, whatever errno an earlier call left behind.
    static constexpr int k_write_errors[] = {ENOSPC, EDQUOT, EIO, EFBIG, EROFS, EACCES, EPERM};
    if (std::find(std::begin(k_write_errors), std::end(k_write_errors), err) !=
        std::end(k_write_errors)) {
      throw errno_error(err, label + ": cannot write " + target.string());
    }
    throw Error(ErrorKind::invalid_input, label + ": cannot write " + target.string() + ": " + cond.text());
  }
}

void write_temp(const ExportSource& source, const std::string& label, detail::Loaded& loaded, bool anonymized,
                AtomicFile& temp, const fs::path& target) {
  if (!anonymized && loaded.part10) {
    try {
      return copy_as_is(source, temp.fd(), target);
    } catch (const Error& e) {
      throw e.with_context(label);
    }
  }
  // A bare data set gets a meta header; a de-identified one gets a new meta header, since
  // the old one holds the original SOP Instance UID and the sender's AE title.
  save_into(label, loaded, anonymized ? EWM_createNewMeta : EWM_fileformat, temp.fd(), target);
}

// How many written files wait open and unnamed for the renames (see AtomicFile); past that
// they are parked under hidden names, so that a large export stays within the limit of open
// files (often 1024) that DCMTK, SQLite and the caller share.
std::size_t unnamed_budget() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 256;
  return static_cast<std::size_t>(limit.rlim_cur / 4);
}

}  // namespace

std::string safe_path_component(std::string_view raw, std::size_t max_bytes) {
  // Bytes that are not UTF-8, U+FFFD (what a conversion made of such bytes) and C1 controls
  // become '_' too: a name must print, and be what messages report.
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size();) {
    char32_t cp = 0;
    const std::size_t n = utf8_sequence(raw, i, cp);
    const bool forbidden = n == 0 || cp < 0x20 || cp == 0x7F || is_c1_control(cp) || cp == 0xFFFD ||
                           (cp < 0x80 && std::strchr("/\\:*?\"<>|", static_cast<char>(cp)) != nullptr);
    if (forbidden) out.push_back('_');
    else out.append(raw.substr(i, n));
    i += n == 0 ? 1 : n;
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
  const fs::path root(dir);
  {
    std::error_code ec;
    if (fs::exists(root, ec) && !fs::is_directory(root, ec))
      throw errno_error(ENOTDIR, "cannot export to " + dir);
  }

  // First every source is read and checked, one at a time (so memory holds one file): a bad
  // record anywhere stops the export before anything is written.
  std::vector<Exported> plan;
  plan.reserve(sources.size());
  for (const ExportSource& source : sources) {
    throw_if_interrupted("nothing was written");
    const std::string label = source.label.empty() ? source.path : source.label;
    detail::Loaded loaded = prepare(source, label, anonymizer);
    const std::string target = target_path(root, loaded.dataset()).string();
    for (const auto& earlier : plan) {
      if (earlier.path == target)
        throw Error(ErrorKind::conflict,
                    fmt::format("{} and {} are the same SOP instance: both would be written to {}", earlier.label,
                                label, target),
                    "export them separately");
    }
    plan.push_back({label, target});
  }

  // Then each is written beside its target; only when all are complete are they renamed into
  // place. The anonymizer remembers its replacements, so the second pass gives the same UIDs.
  Rollback rollback;
  std::vector<std::unique_ptr<AtomicFile>> temps;
  const std::size_t budget = unnamed_budget();
  for (std::size_t i = 0; i < sources.size(); ++i) {
    throw_if_interrupted("nothing was written");  // the Rollback takes back what was written so far
    const fs::path target = plan[i].path;
    detail::Loaded loaded = prepare(sources[i], plan[i].label, anonymizer);
    make_dirs(root, target, rollback);
    temps.push_back(std::make_unique<AtomicFile>(target, k_output_file_perms));
    write_temp(sources[i], plan[i].label, loaded, anonymize, *temps.back(), target);
    if (i < budget) temps.back()->sync();
    else temps.back()->park();
  }
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const fs::path target = plan[i].path;
    fs::path backup;
    if (::access(target.c_str(), F_OK) == 0) {
      backup = hidden_temp_path(target);
      if (::link(target.c_str(), backup.c_str()) != 0) throw errno_error(errno, "cannot replace " + target.string());
    }
    try {
      temps[i]->commit(true);
    } catch (const Error&) {
      if (!backup.empty()) ::unlink(backup.c_str());
      throw;
    }
    rollback.published(target, backup);
  }
  rollback.release();
  return plan;
}

}  // namespace wfctl::dicom
