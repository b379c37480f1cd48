// Reading: validation, the summary of key attributes and the DICOM JSON model.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcjson.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <wfctl/dicom/dicom.hpp>
#include <wfctl/error.hpp>
#include <wfctl/util/utf8.hpp>

#include "dcmtk_support.hpp"
#include "prescan.hpp"

namespace wfctl::dicom {

using detail::get_string;

namespace {

// Compact output: it is parsed right away, and wfctl's own renderers do the pretty printing.
// The meta header stays out; Annex F models the data set. Encapsulated (compressed) pixel
// data has no InlineBinary form in DCMTK, and decoding it would change the attributes that
// describe it, so it is referenced as bulk data in the file instead.
class JsonFormat : public DcmJsonFormatCompact {
 public:
  explicit JsonFormat(std::string pixel_data_uri)
      : DcmJsonFormatCompact(OFFalse), m_pixel_data_uri(std::move(pixel_data_uri)) {}

  OFBool asBulkDataURI(const DcmTagKey& tag, OFString& uri) override {
    if (m_pixel_data_uri.empty() || tag != DCM_PixelData) return OFFalse;
    uri = m_pixel_data_uri.c_str();
    return OFTrue;
  }

 private:
  std::string m_pixel_data_uri;
};

// A file:// URI (RFC 8089) for the absolute path, octets outside the unreserved set and
// '/' percent-encoded.
std::string file_uri(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  const std::string text = ec ? path : absolute.string();
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string uri = "file://";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || std::strchr("-._~/", c) != nullptr) {
      uri.push_back(c);
    } else {
      uri += '%';
      uri.push_back(k_hex[byte >> 4]);
      uri.push_back(k_hex[byte & 0xF]);
    }
  }
  return uri;
}

}  // namespace

Json to_json(const Summary& s) {
  Json j = Json::object();
  j["PatientID"] = s.patient_id;
  j["PatientName"] = s.patient_name;
  j["StudyInstanceUID"] = s.study_instance_uid;
  j["SeriesInstanceUID"] = s.series_instance_uid;
  j["SOPInstanceUID"] = s.sop_instance_uid;
  j["SOPClassUID"] = s.sop_class_uid;
  j["Modality"] = s.modality;
  j["StudyDate"] = s.study_date;
  j["SeriesDescription"] = s.series_description;
  j["Rows"] = s.rows;
  j["Columns"] = s.columns;
  j["NumberOfFrames"] = s.number_of_frames;
  j["TransferSyntaxUID"] = s.transfer_syntax_uid;
  j["TransferSyntax"] = s.transfer_syntax_name;
  return j;
}

Summary read_summary(const std::string& path) {
  const detail::Loaded loaded = detail::load_file(path, path);
  DcmDataset& ds = loaded.dataset();
  detail::convert_to_utf8(ds);
  const auto text = [&](const DcmTagKey& tag) { return to_valid_utf8(get_string(ds, tag)); };
  Summary s;
  s.patient_id = text(DCM_PatientID);
  s.patient_name = text(DCM_PatientName);
  s.study_instance_uid = text(DCM_StudyInstanceUID);
  s.series_instance_uid = text(DCM_SeriesInstanceUID);
  s.sop_instance_uid = text(DCM_SOPInstanceUID);
  s.sop_class_uid = text(DCM_SOPClassUID);
  s.modality = text(DCM_Modality);
  s.study_date = text(DCM_StudyDate);
  s.series_description = text(DCM_SeriesDescription);
  s.rows = detail::get_long(ds, DCM_Rows, 0);
  s.columns = detail::get_long(ds, DCM_Columns, 0);
  s.number_of_frames = detail::get_long(ds, DCM_NumberOfFrames, 1);
  const DcmXfer xfer(loaded.original_xfer());
  s.transfer_syntax_uid = xfer.getXferID();
  s.transfer_syntax_name = xfer.getXferName();
  return s;
}

void validate(const std::string& path) { (void)detail::load_file(path, path); }

Json to_dicom_json(const std::string& path) {
  const detail::Loaded loaded = detail::load_file(path, path);
  // DCMTK writes JSON by recursion, a level of sequences at a time: load_file bounded the tree
  // at k_max_sequence_depth already, and this says so where the recursion happens.
  detail::check_tree_depth(loaded.dataset(), 0, path);
  detail::convert_to_utf8(loaded.dataset());
  const bool encapsulated = DcmXfer(loaded.original_xfer()).isEncapsulated();
  std::ostringstream out;
  JsonFormat format(encapsulated ? file_uri(path) : std::string());
  // The file format writes the enclosing braces; the data set alone writes only members.
  const OFCondition cond = loaded.file->writeJson(out, format);
  if (cond.bad()) {
    throw Error(ErrorKind::invalid_input,
                path + ": cannot convert to DICOM JSON: " + std::string(cond.text()));
  }
  try {
    // Values in a character set DCMTK could not convert are still not UTF-8; JSON must be.
    return Json::parse(to_valid_utf8(out.str()));
  } catch (const nlohmann::json::parse_error& e) {
    // DCMTK copies IS/DS strings into JSON numbers verbatim, so a malformed number in the
    // file (e.g. IS "1A") could yield text that is not JSON.
    throw Error(ErrorKind::invalid_input,
                path + ": cannot convert to DICOM JSON: a value is not valid in the JSON model (" +
                    e.what() + ")");
  }
}

}  // namespace wfctl::dicom
