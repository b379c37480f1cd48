#pragma once
// DICOM files and peers. DCMTK stays behind this header: no DCMTK type appears here, so the
// rest of wfctl neither compiles against DCMTK nor depends on its ownership conventions.
// Every function throws wfctl::Error; messages start with the file's path or label.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <wfctl/model/workflow.hpp>
#include <wfctl/util/cancel.hpp>

namespace wfctl::dicom {

/// The deepest nesting of sequences wfctl reads: a sequence in the data set is at level 1, a
/// sequence inside one of its items at level 2, and so on. Every function here refuses a file
/// nested deeper with Error(invalid_input, "<path>: sequences nested more than 128 levels deep
/// ...") before parsing it, because DCMTK parses (and wfctl walks) nested sequences by
/// recursion and a few thousand levels overflow the stack. Real data stays far below: the
/// deepest IODs (structured reports, RT plans, enhanced multi-frame functional groups) nest
/// about ten levels, and 128 levels is still 20 times below the depth that overflowed the
/// shallowest recursion in wfctl (about 2 500 levels, in the anonymiser).
inline constexpr unsigned k_max_sequence_depth = 128;

/// Key attributes of one DICOM file, strings in UTF-8; a string is empty when the attribute
/// is absent.
struct Summary {
  std::string patient_id, patient_name, study_instance_uid, series_instance_uid, sop_instance_uid,
      sop_class_uid, modality, study_date, series_description;
  long rows = 0, columns = 0, number_of_frames = 1;
  std::string transfer_syntax_uid, transfer_syntax_name;
};

/// The summary as a JSON object with keys PatientID, PatientName, StudyInstanceUID,
/// SeriesInstanceUID, SOPInstanceUID, SOPClassUID, Modality, StudyDate, SeriesDescription,
/// Rows, Columns, NumberOfFrames, TransferSyntaxUID, TransferSyntax (in that order).
Json to_json(const Summary& summary);

/// Reads a whole DICOM file (Part 10, or a bare data set DCMTK recognises) including its
/// pixel data and returns its key attributes; throws Error(not_found) when the file does not
/// exist and Error(invalid_input, "<path>: not a DICOM file: ..." or "<path>: truncated: ...")
/// when it is not a complete DICOM file.
Summary read_summary(const std::string& path);

/// Performs the checks of read_summary (used before accepting an upload); returns normally
/// when the file is a complete DICOM file and throws what read_summary throws otherwise.
void validate(const std::string& path);

/// The file's data set (without the file meta information) in the DICOM JSON model of
/// PS3.18 Annex F, strings in UTF-8, binary values inline as base64 except compressed pixel
/// data, which is a BulkDataURI (file://) to the source; throws what read_summary throws, or
/// Error(invalid_input) when a value cannot be represented in that model.
Json to_dicom_json(const std::string& path);

struct RenderOptions {
  unsigned frame = 0;                               // zero-based
  std::optional<std::pair<double, double>> window;  // center, width; absent: min-max window
};

/// Renders one frame as the bytes of an 8-bit PNG file: grey for monochrome images (the given
/// window, else the frame's min-max window), RGB for colour ones. JPEG 2000 frames are decoded
/// with OpenJPEG, only the one rendered. Throws Error(invalid_input) when the file has no
/// pixel data, when the frame is out of range, "cannot decode transfer syntax <name> (<uid>)"
/// when there is no decoder for it (MPEG video, for one), when a JPEG 2000 codestream does not
/// decode or disagrees with Rows, Columns, Samples per Pixel or Bits Stored, and
/// Error(internal) rather than return a flat picture from non-constant pixels.
std::string render_png_bytes(const std::string& dicom_path, const RenderOptions& options);

struct ExportSource {
  std::string path;
  std::string label;  // how messages name the file, e.g. "record 7"; empty: the path
};

struct Exported {
  std::string label;
  std::string path;  // the written file
};

/// `text` made usable as one path component on every common filesystem: the characters
/// / \ : * ? " < > | and control characters become '_', leading dots and trailing dots and
/// spaces go, Windows device names (CON, NUL, COM1, ...) get a '_' prefix, at most `max_bytes`
/// bytes (never splitting a UTF-8 sequence), and "unknown" for what ends up empty.
std::string safe_path_component(std::string_view text, std::size_t max_bytes = 255);

/// Writes each source to dir/PatientID/StudyInstanceUID/SeriesInstanceUID/SOPInstanceUID.dcm
/// (components made safe with safe_path_component) and returns the written paths in source
/// order. With `anonymize`, applies the PS3.15 Annex E Basic Application Level
/// Confidentiality Profile (identifying attributes, all private attributes, and UIDs
/// replaced consistently across this call), and the path uses the new identifiers.
/// All or nothing: every source is read and checked before anything is written, the files
/// are written beside their targets and renamed into place only when all are complete, and
/// a failure at any step removes what this call wrote and the directories it created and
/// restores the files it replaced. Sources are never modified. Throws Error(invalid_input)
/// naming the label for a source that is not DICOM, Error(conflict) when two sources are the
/// same SOP instance, and the errno table's kind when a file cannot be written.
std::vector<Exported> export_tree(const std::vector<ExportSource>& sources, const std::string& dir,
                                  bool anonymize);

/// A DICOM application entity reachable over TCP.
struct Peer {
  std::string aet;
  std::string host;
  int port = 104;
};

/// Parses "AET@HOST:PORT" ("AET@HOST" means port 104; IPv6 literals are refused: DCMTK 3.6.7 cannot use them); throws
/// Error(usage) when the AE title is not 1..16 characters without backslash or control
/// characters, the host is empty or the port is not 1..65535.
Peer parse_peer(std::string_view text);

/// Sends a C-ECHO to the peer and returns when it answered with success; throws Error(usage)
/// for a bad calling AE title and Error(unavailable) when the peer is unreachable, rejects
/// the association, times out (after `timeout_seconds` per step) or answers with a failure.
void echo(const Peer& peer, const std::string& calling_aet, int timeout_seconds);

struct SendStatus {
  std::string label;
  std::string sop_instance_uid;
  bool ok = false;
  unsigned status = 0;  // the C-STORE response status; 0 when none was received
  std::string message;  // "Success", the peer's status text, or why the file was not sent
};

/// Sends every source with C-STORE over one association and returns one status per source
/// in source order; each file goes in its own transfer syntax when the peer accepts it,
/// otherwise decompressed to explicit or implicit VR little endian. Throws
/// Error(invalid_input) before connecting when a source is not DICOM, and Error(unavailable)
/// when the peer is unreachable, rejects the association or times out before any file was
/// sent; later failures are reported in the statuses.
std::vector<SendStatus> send(const std::vector<ExportSource>& sources, const Peer& peer,
                             const std::string& calling_aet, int timeout_seconds);

/// The long operations above, stopped by one call's token as well as by Ctrl-C: once
/// `cancel` is cancelled they throw Error(interrupted) at their next check (export rolls
/// back what it wrote; send aborts the association, files already sent stay sent). The
/// token is checked by the calling thread only, so other threads' calls go on.
Summary read_summary(const std::string& path, const Cancel& cancel);
void validate(const std::string& path, const Cancel& cancel);
Json to_dicom_json(const std::string& path, const Cancel& cancel);
std::string render_png_bytes(const std::string& dicom_path, const RenderOptions& options, const Cancel& cancel);
std::vector<Exported> export_tree(const std::vector<ExportSource>& sources, const std::string& dir, bool anonymize,
                                  const Cancel& cancel);
void echo(const Peer& peer, const std::string& calling_aet, int timeout_seconds, const Cancel& cancel);
std::vector<SendStatus> send(const std::vector<ExportSource>& sources, const Peer& peer,
                             const std::string& calling_aet, int timeout_seconds, const Cancel& cancel);

}  // namespace wfctl::dicom
