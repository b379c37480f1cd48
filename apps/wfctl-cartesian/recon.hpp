// The reconstruction: the magnitude of the centred inverse 2-D FFT of a k-space, as 16-bit
// pixels with the rescale that gives the magnitude back.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cartesian {

class NpyReader;

/// A magnitude image as unsigned 16-bit pixels: magnitude = pixel * slope + intercept.
struct MagnitudeImage {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<std::uint16_t> pixels;  ///< row-major, the smallest magnitude 0, the largest 65535
  double slope = 1;                   ///< exactly the value decimal_string(slope) writes
  double intercept = 0;               ///< exactly the value decimal_string(intercept) writes
  double min = 0;                     ///< the smallest magnitude
  double max = 0;                     ///< the largest magnitude
};

/// abs(fftshift(ifft2(ifftshift(k)))) of the k-space `reader` holds, normalised by 1/(rows*cols)
/// as numpy.fft.ifft2 is, scaled to 0..65535 (a constant image: all 0, slope 1). Throws
/// Failure: invalid_input for bad data, other when memory or FFTW fail.
MagnitudeImage reconstruct(NpyReader& reader);

/// `v` as a DICOM decimal string (DS): at most 16 characters, as many digits as fit.
std::string decimal_string(double v);

/// Throws Failure(invalid_input) when `bytes` of working memory exceed the machine's RAM.
void check_fits_in_memory(std::uint64_t bytes, const std::string& what);

}  // namespace cartesian
