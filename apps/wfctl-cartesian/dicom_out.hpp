// The reconstruction's DICOM output: one 16-bit MONOCHROME2 MR image (DCMTK stays in the .cpp).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "recon.hpp"

namespace cartesian {

/// What the DICOM file says about where the image came from.
struct DicomLabels {
  std::optional<std::int64_t> record_id;  ///< absent: placeholder patient "wfctl^phantom"
};

/// Writes `image` as an MR Image Storage file in explicit VR little endian, with fresh study,
/// series and instance UIDs, atomically (nothing is left at `path` on failure). Throws
/// Failure(other).
void write_dicom(const MagnitudeImage& image, const std::string& path, const DicomLabels& labels);

}  // namespace cartesian
