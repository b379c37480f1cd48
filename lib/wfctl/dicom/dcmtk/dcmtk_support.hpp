#pragma once
// Private to lib/wfctl/dicom: the DCMTK plumbing the public functions share. This is the one
// header besides the .cpp files that may include DCMTK.
#include <dcmtk/config/osconfig.h>  // must come first: DCMTK's headers depend on it
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <memory>
#include <string>

namespace wfctl::dicom::detail {

/// Registers the JPEG, JPEG-LS and RLE decoders and quiets DCMTK's logger, once per process
/// (thread-safe); returns normally and never throws.
void init_dcmtk();

/// A DICOM file held completely in memory.
struct Loaded {
  std::unique_ptr<DcmFileFormat> file;
  bool part10 = false;  // had the "DICM" prefix (and so a meta header)

  DcmDataset& dataset() const { return *file->getDataset(); }
  /// The transfer syntax the data set was encoded in (read from the file, not converted).
  E_TransferSyntax original_xfer() const { return file->getDataset()->getOriginalXfer(); }
};

/// Loads the whole file, pixel data included, so that truncation shows; throws
/// Error(not_found) when it does not exist, Error(permission) when it cannot be opened, and
/// Error(invalid_input, "<label>: not a DICOM file: ..." / "<label>: truncated: ...").
Loaded load_file(const std::string& path, const std::string& label);

/// The attribute's value(s) with padding trimmed, multiple values joined by '\'; empty
/// when the attribute is absent or empty.
std::string get_string(DcmItem& item, const DcmTagKey& tag);

/// The attribute's first value as a number; `fallback` when absent or not a number.
long get_long(DcmItem& item, const DcmTagKey& tag, long fallback);

/// Converts the data set's strings from its Specific Character Set to UTF-8 in place;
/// returns false (leaving what could not be converted) when DCMTK cannot, never throws.
bool convert_to_utf8(DcmItem& item);

/// True when the data set's Pixel Data is encapsulated (fragments of undefined length) although
/// `xfer` is a native transfer syntax: DCMTK reads it, but can neither render nor write it.
bool fragments_in_native(DcmDataset& ds, E_TransferSyntax xfer);

/// "<name> (<uid>)" of a transfer syntax, e.g. "JPEG 2000 (Lossless only) (1.2.840...)".
std::string xfer_description(E_TransferSyntax xfer);

}  // namespace wfctl::dicom::detail
