#pragma once
// What the result commands do: upload, download, preview, info, export and send, over any
// Store. DICOM work needs a local file: a store without one is read into a temporary copy.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <wfctl/dicom/dicom.hpp>
#include <wfctl/store/store.hpp>

namespace wfctl {

/// Called with bytes done and the total (0 when unknown), for progress bars.
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

struct UploadRequest {
  RecordId record = 0;
  std::string file;                  // a path, or "-" for stdin (then `name` is required)
  std::optional<std::string> name;   // default: the file's base name
  bool force = false;
  bool dicom = false;                // validate as DICOM even without a .dcm name
  ProgressFn progress;
  std::function<void(const ResultFile&)> before_commit;  // see PutOptions
};

/// Streams the file into records/RECORD/NAME; validates it as DICOM first when the name ends
/// in .dcm or `dicom` is set. Throws Error(usage) for stdin without a name or an unreadable
/// file, Error(invalid_input) for an unsafe name or a bad DICOM file, Error(conflict) when the
/// file exists and !force.
ResultFile upload_result(Store& store, const UploadRequest& request);

struct DownloadRequest {
  RecordId record = 0;
  std::string name;         // default: record-RECORD.dcm
  std::string output = "-"; // a path, or "-" for stdout
  bool force = false;
  ProgressFn progress;
};

/// Streams a stored file to stdout or, atomically, to a path (a temporary file beside it,
/// renamed only once the sha256 matched). Throws Error(not_found) when absent,
/// Error(conflict) when the output exists and !force.
ResultFile download_result(Store& store, const DownloadRequest& request);

/// Writes a rendered preview to `path`: into a device or FIFO as it is, else replacing the file
/// (or the file a symbolic link names) atomically. Throws Error of the errno table's kind.
void write_preview(const std::string& path, std::string_view png);

/// A local path to a stored file for DICOM work: the store's own file, or a temporary copy
/// removed with this object. Throws Error(not_found) when absent.
class ResultCopy {
 public:
  ResultCopy(Store& store, RecordId record, const std::string& name);
  ~ResultCopy();
  ResultCopy(const ResultCopy&) = delete;
  ResultCopy& operator=(const ResultCopy&) = delete;
  const std::string& path() const { return m_path; }
  const std::string& label() const { return m_label; }

 private:
  std::string m_path, m_label, m_temp;
};

/// "7" is a record id, anything else a file path: the argument of `result info`.
struct RecordOrFile {
  std::optional<RecordId> record;
  std::string path;
};
/// Parses RECORD|FILE: digits only name a record, anything else a file (use ./7 for a file
/// named 7). Throws Error(usage) for a record id out of range.
RecordOrFile parse_record_or_file(const std::string& text);

/// Parses "--window CENTER,WIDTH"; throws Error(usage) unless WIDTH > 0.
std::pair<double, double> parse_window(const std::string& text);

}  // namespace wfctl
