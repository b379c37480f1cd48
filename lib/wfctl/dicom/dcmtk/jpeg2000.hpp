#pragma once
// Private to the DICOM module: JPEG 2000 pixel data, which DCMTK 3.6.7 cannot decode, decoded
// with OpenJPEG. No OpenJPEG type appears here; only jpeg2000.cpp includes OpenJPEG.
#include <dcmtk/config/osconfig.h>  // must come first: DCMTK's headers depend on it
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace wfctl::dicom::detail {

/// True for JPEG 2000 Image Compression (Lossless Only), 1.2.840.10008.1.2.4.90, and JPEG 2000
/// Image Compression, 1.2.840.10008.1.2.4.91; never throws.
bool is_jpeg2000(E_TransferSyntax xfer);

/// True when `bytes` start with the JP2 file signature box (ISO/IEC 15444-1 I.5.1) rather than
/// a bare codestream; never throws.
bool is_jp2_file(std::span<const std::uint8_t> bytes);

/// The bytes of frame `frame` (zero-based) of `frames` in the encapsulated pixel data
/// `fragments` (item 0 being the Basic Offset Table): a view into the one fragment that holds
/// it, or into `storage`, which then holds the frame's fragments joined. Frames are found
/// through the Basic Offset Table when it is valid, else one fragment per frame when the counts
/// match, else at the fragments that start a codestream (SOC and SIZ markers, or a JP2
/// signature). Throws Error(invalid_input, "<label>: ...") when there are no fragments or they
/// cannot be assigned to frames that way.
std::span<const std::uint8_t> frame_codestream(DcmPixelSequence& fragments, unsigned frame,
                                               unsigned long frames,
                                               std::vector<std::uint8_t>& storage,
                                               const std::string& label);

/// Replaces the JPEG 2000 pixel data of `ds` (in transfer syntax `xfer`, `frames` frames) by
/// frame `frame` alone, decoded into native pixel data, and rewrites what describes it
/// (Number of Frames 1, the Photometric Interpretation of the decoded samples, Planar
/// Configuration 0, High Bit), so that DicomImage reads `ds` as explicit VR little endian.
/// Other frames are not decoded. Throws Error(invalid_input, "<label>: ...") when the frame
/// cannot be found, its codestream does not decode, or it disagrees with Rows, Columns,
/// Samples per Pixel or Bits Stored; `ds` is unchanged then.
void decode_jpeg2000_frame(DcmDataset& ds, E_TransferSyntax xfer, unsigned frame,
                           unsigned long frames, const std::string& label);

}  // namespace wfctl::dicom::detail
