// The modified (Toft) Shepp-Logan phantom and its k-space, the test input of the example
// reconstruction.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace cartesian {

/// The smallest and largest phantom sizes --phantom accepts.
inline constexpr std::size_t k_min_phantom = 8;
inline constexpr std::size_t k_max_phantom = 8192;

/// The modified Shepp-Logan phantom rasterised on size x size pixel centres spanning [-1, 1],
/// row-major, row 0 at the top (y = +1), as MATLAB's phantom(size) draws it.
std::vector<double> shepp_logan(std::size_t size);

/// Writes fftshift(fft2(ifftshift(shepp_logan(size)))) as a complex64 .npy to `path`,
/// atomically. Throws Failure(usage) for a size out of range, Failure(other) otherwise.
void write_phantom_kspace(std::size_t size, const std::string& path);

}  // namespace cartesian
