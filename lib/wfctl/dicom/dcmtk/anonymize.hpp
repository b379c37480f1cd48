#pragma once
// Private to lib/wfctl/dicom: de-identification with the PS3.15 Annex E Basic Application
// Level Confidentiality Profile.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>

#include <map>
#include <string>

namespace wfctl::dicom::detail {

/// De-identifies data sets; one instance per export, so that the same original UID or
/// patient maps to the same replacement in every file of that export (references between
/// the files stay intact) and to a different one in the next export.
class Anonymizer {
 public:
  /// Applies the profile to `dataset` in memory: the profile's attributes removed, emptied
  /// or replaced (also inside sequences), private attributes removed, instance UIDs
  /// replaced, PatientName/PatientID set to a pseudonym and the de-identification
  /// attributes added; throws Error(internal) when DCMTK refuses a change.
  void apply(DcmDataset& dataset);

 private:
  void process(DcmItem& item, int depth);
  std::string replacement_uid(const std::string& uid);
  std::string pseudonym(const std::string& patient_id);

  std::map<std::string, std::string> m_uids;
  std::map<std::string, std::string> m_patients;
};

}  // namespace wfctl::dicom::detail
