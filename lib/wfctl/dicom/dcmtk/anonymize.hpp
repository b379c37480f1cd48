#pragma once
// Private to lib/wfctl/dicom: de-identification with the PS3.15 Annex E Basic Application
// Level Confidentiality Profile.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>

#include <map>
#include <memory>
#include <random>
#include <string>

namespace wfctl::dicom::detail {

/// De-identifies data sets; one instance per export, so that the same original UID or
/// patient maps to the same replacement in every file of that export (references between
/// the files stay intact) and to a different one in the next export.
class Anonymizer {
 public:
  /// An anonymizer with its own random replacements (seeded from std::random_device).
  Anonymizer();

  /// Applies the profile to `dataset` in memory: the profile's attributes removed, emptied
  /// or replaced (also inside sequences), private attributes removed, instance UIDs
  /// replaced, PatientName/PatientID set to a pseudonym and the de-identification
  /// attributes added; time linear in the size of the data set. Attributes are known by tag:
  /// one encoded as UN is treated as the dictionary's VR for its tag says (a UN sequence is
  /// parsed, or removed when it cannot be). Throws Error(invalid_input, "<label>: ...") for
  /// sequences nested deeper than k_max_sequence_depth and Error(internal) when DCMTK refuses
  /// a change.
  void apply(DcmDataset& dataset, const std::string& label);

 private:
  void process(DcmItem& item, unsigned depth);
  std::unique_ptr<DcmElement> clean(std::unique_ptr<DcmElement> element, unsigned depth);
  std::unique_ptr<DcmElement> parse_un_sequence(DcmElement& element, unsigned depth);
  std::string replacement_uid(const std::string& uid);
  std::string pseudonym(const std::string& patient_id);

  std::map<std::string, std::string> m_uids;
  std::map<std::string, std::string> m_patients;
  std::string m_label;
  std::mt19937_64 m_random;  // how messages name the data set being cleaned
};

}  // namespace wfctl::dicom::detail
