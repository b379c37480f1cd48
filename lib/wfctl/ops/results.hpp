#pragma once
// What a user does with result files, for every front end (the CLI today; `serve` and the
// worker next): ingest an upload, download, and the DICOM work on stored results (preview,
// describe, export, send). DICOM work needs a local file: a store without one is read into
// a temporary copy.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <wfctl/dicom/dicom.hpp>
#include <wfctl/ops/jobs.hpp>
#include <wfctl/store/store.hpp>
#include <wfctl/util/fs.hpp>

namespace wfctl {

/// Called with bytes done and the total (0 when unknown), for progress bars.
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

/// An input to upload: a file, or standard input for "-". A regular file (or stdin
/// redirected from one) is offered to the store as a file, which it may copy in the kernel.
class InputFile {
 public:
  /// Opens `path`; throws Error of the errno table's kind when it cannot.
  explicit InputFile(const std::string& path);
  /// The bytes, reporting progress to `progress` (may be empty) between chunks.
  ByteSource source(const ProgressFn& progress = {}) const;
  /// The size when known (a regular file), else 0.
  std::uint64_t size() const { return m_size; }
  /// How messages name the input: the path, or "<stdin>".
  const std::string& name() const { return m_name; }

 private:
  UniqueFd m_fd;
  int m_in = -1;
  bool m_regular = false;
  std::uint64_t m_size = 0;
  std::string m_name;
};

/// What an upload stored: the file, and the reconstruction job submitted with it.
struct Ingested {
  ResultFile file;
  std::optional<Job> job;
};

struct IngestOptions {
  bool force = false;  // replace an existing file
  bool dicom = false;  // validate as DICOM even without a .dcm name
  Cancel cancel;
  /// Runs inside the store's write, once the file and its job are recorded but before they
  /// commit; throwing from it stores nothing. The CLI prints here.
  BeforeCommit<Ingested> before_commit;
  /// The reconstruction job (see upload_job() in ops/jobs.hpp), submitted in the same
  /// transaction as the file; `transport` (may be null: local) carries it afterwards.
  UploadJob job;
  Transport* transport = nullptr;
  /// The worker's: the job attempt this file is the output of, finished with it (see
  /// ResultWriteOptions::finish_job).
  std::optional<FinishRequest> finish_job;
};

/// Stores `source` at records/RECORD/NAME, NAME defaulting to record-RECORD.dcm. The name must
/// be one safe path component; a name other than the default needs a store with
/// arbitrary_result_names. When NAME ends in .dcm (any case) or options.dicom is set, the bytes
/// must be a complete DICOM file, checked before anything is stored. Throws
/// Error(invalid_input) for an unsafe name or a bad DICOM file, Error(conflict) when the file
/// exists and !force, Error(not_supported), Error(interrupted) once cancelled; and, when the
/// file and its job were stored but the transport did not take the job, Error(unavailable)
/// saying so (the job is marked undelivered: `job retry` sends it again).
Ingested ingest_result(Store& store, RecordId record, const std::optional<std::string>& name,
                         const ByteSource& source, const IngestOptions& options);

/// An upload that arrives in chunks (a server's request body), with ingest_result's decisions:
/// the same name and capability checks and the same job, in the same transaction. The bytes go
/// straight into the store's writer; only a DICOM name (.dcm, or options.dicom) is spooled to
/// an unnamed temporary file first, since it is checked as a whole before anything is stored.
/// Destroyed without commit(), it stores nothing. Used by one thread.
class ResultIngest {
 public:
  /// Checks the name and the job and starts the store's writer. Throws as ingest_result does
  /// before reading: Error(invalid_input), Error(not_supported), Error(conflict) when the file
  /// exists and !options.force.
  ResultIngest(Store& store, RecordId record, const std::optional<std::string>& name, const IngestOptions& options);
  ~ResultIngest();
  ResultIngest(const ResultIngest&) = delete;
  ResultIngest& operator=(const ResultIngest&) = delete;
  /// Appends bytes; throws Error (a full disk, Error(interrupted) once cancelled).
  void write(const char* data, std::size_t size);
  /// Bytes written so far.
  std::uint64_t size() const { return m_size; }
  /// Stores the file with its job and delivers the job, as ingest_result; throws as it does.
  Ingested commit();

 private:
  Store& m_store;
  RecordId m_record;
  std::string m_name;
  IngestOptions m_options;
  std::unique_ptr<ResultWriter> m_writer;
  UniqueFd m_spool;  // a DICOM upload, checked before it is stored
  std::uint64_t m_size = 0;
};

struct DownloadRequest {
  RecordId record = 0;
  std::string name;          // default: record-RECORD.dcm
  std::string output = "-";  // a path, or "-" for stdout
  bool force = false;
  ProgressFn progress;
  Cancel cancel;
  bool image = false;  // the record's result as the reference's image route serves it, to stdout
};

/// Streams a stored file to stdout or, atomically, to a path (a temporary file beside it,
/// renamed only once the sha256 matched). Throws Error(not_found) when absent,
/// Error(conflict) when the output exists and !force.
ResultFile download_result(Store& store, const DownloadRequest& request);

/// How wait_for_result waits.
struct ResultWait {
  std::optional<std::chrono::milliseconds> timeout;  // the whole wait; none: until Ctrl-C
  std::chrono::milliseconds max_delay{5000};         // polls start 0.2 s apart, doubling to this
  /// Called once, with the file's path, when the first look did not find it (a notice).
  std::function<void(const std::string& path)> on_waiting;
};

/// Polls the store (with a jittered, doubling delay) until records/RECORD/NAME (NAME empty:
/// record-RECORD.dcm) exists, and returns its metadata. A reference server's 500 for a
/// missing download counts as absent. Throws Error(timed_out) once `wait.timeout` passed,
/// Error(interrupted) once cancelled, and what the store throws otherwise.
ResultFile wait_for_result(Store& store, RecordId record, const std::string& name, const ResultWait& wait,
                           const Cancel& cancel = {});

/// Writes a rendered preview to `path`: into a device or FIFO as it is, else replacing the file
/// (or the file a symbolic link names) atomically. Throws Error of the errno table's kind.
void write_preview(const std::string& path, std::string_view png);

/// A local path to a stored file for DICOM work: the store's own file, or a temporary copy
/// removed with this object. Throws Error(not_found) when absent.
class ResultCopy {
 public:
  ResultCopy(Store& store, RecordId record, const std::string& name, const Cancel& cancel = {});
  ~ResultCopy();
  ResultCopy(const ResultCopy&) = delete;
  ResultCopy& operator=(const ResultCopy&) = delete;
  const std::string& path() const { return m_path; }
  const std::string& label() const { return m_label; }

 private:
  std::string m_path, m_label, m_temp;
};

/// The PNG preview of a record's DICOM result (record-RECORD.dcm). Throws what
/// dicom::render_png_bytes throws, Error(not_found) when the record has no result.
std::string preview(Store& store, RecordId record, const dicom::RenderOptions& options, const Cancel& cancel = {});

/// A DICOM file to describe: a record's result, or a local file.
struct RecordOrFile {
  std::optional<RecordId> record;
  std::string path;
};
/// Parses RECORD|FILE: digits only name a record, anything else a file (use ./7 for a file
/// named 7). Throws Error(usage) for a record id out of range.
RecordOrFile parse_record_or_file(const std::string& text);

/// The key attributes of the target (dicom::to_json of its summary) or, with `all`, every
/// element in the DICOM JSON model. Throws what dicom::read_summary throws.
Json describe_dicom(Store& store, const RecordOrFile& target, bool all, const Cancel& cancel = {});

/// Exports the DICOM results of `records` (duplicates collapse, order kept) into `dir` with
/// dicom::export_tree, all or nothing. Throws Error(not_found) before writing anything when a
/// record has no result.
std::vector<dicom::Exported> export_results(Store& store, const std::vector<RecordId>& records,
                                            const std::string& dir, bool anonymize, const Cancel& cancel = {});

/// Sends the DICOM results of `records` to `peer` with C-STORE; one status per file.
std::vector<dicom::SendStatus> send_results(Store& store, const std::vector<RecordId>& records,
                                            const dicom::Peer& peer, const std::string& calling_aet,
                                            int timeout_seconds, const Cancel& cancel = {});
/// Throws Error(unavailable, "N of M files were not stored by PEER") when a send failed.
void throw_if_failed(const std::vector<dicom::SendStatus>& statuses, const std::string& peer);

}  // namespace wfctl
