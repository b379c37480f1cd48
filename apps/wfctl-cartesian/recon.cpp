#include "recon.hpp"

#include <fftw3.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>

#include "failure.hpp"
#include "npy.hpp"

namespace cartesian {

namespace {

struct FftwFree {
  void operator()(fftw_complex* p) const { fftw_free(p); }
};
struct PlanFree {
  void operator()(fftw_plan_s* p) const { fftw_destroy_plan(p); }
};

double magnitude(const fftw_complex& c) {
  const double m = std::sqrt(c[0] * c[0] + c[1] * c[1]);
  return std::isfinite(m) ? m : std::hypot(c[0], c[1]);  // squares beyond double's range
}

}  // namespace

std::string decimal_string(double v) {
  char buf[32];
  for (int digits = 16; digits > 0; --digits) {
    int n = std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (n > 0 && n <= 16) return buf;
  }
  return "0";
}

void check_fits_in_memory(std::uint64_t bytes, const std::string& what) {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return;
  const auto ram = static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
  if (bytes > ram) {
    throw Failure(Exit::invalid_input, what + ": needs " + std::to_string(bytes >> 20) +
                                           " MiB of memory, the machine has " +
                                           std::to_string(ram >> 20) + " MiB");
  }
}

MagnitudeImage reconstruct(NpyReader& reader) {
  const std::size_t rows = reader.layout().rows, cols = reader.layout().cols, n = rows * cols;
  check_fits_in_memory(
      std::uint64_t{n} * (sizeof(fftw_complex) + sizeof(std::uint16_t)),
      "reconstructing a " + std::to_string(rows) + " x " + std::to_string(cols) + " image");
  std::unique_ptr<fftw_complex, FftwFree> buf(fftw_alloc_complex(n));
  if (!buf) throw Failure(Exit::other, "reconstructing: out of memory");
  // Planned before the data is read: FFTW_ESTIMATE leaves the arrays alone, but this order
  // does not depend on it.
  std::unique_ptr<fftw_plan_s, PlanFree> plan(
      fftw_plan_dft_2d(static_cast<int>(rows), static_cast<int>(cols), buf.get(), buf.get(),
                       FFTW_BACKWARD, FFTW_ESTIMATE));
  if (!plan) throw Failure(Exit::other, "reconstructing: FFTW could not plan the transform");

  // ifftshift moves element i to (i + n - n/2) % n; fftshift reads element k from there too.
  const std::size_t row_roll = rows - rows / 2, col_roll = cols - cols / 2;
  // fftw_complex is layout-compatible with std::complex<double> (FFTW manual, 4.1.1).
  reader.read(std::span(reinterpret_cast<std::complex<double>*>(buf.get()), n), row_roll, col_roll);
  fftw_execute(plan.get());

  const double scale = 1.0 / static_cast<double>(n);
  double lo = INFINITY, hi = -INFINITY;
  for (std::size_t i = 0; i < n; ++i) {
    const double m = magnitude(buf.get()[i]) * scale;
    lo = std::min(lo, m);
    hi = std::max(hi, m);
  }
  if (!std::isfinite(hi))
    throw Failure(Exit::invalid_input, "reconstructing: the magnitudes overflow double precision");

  MagnitudeImage img;
  img.rows = rows;
  img.cols = cols;
  img.min = lo;
  img.max = hi;
  img.pixels.assign(n, 0);
  // The slope and intercept written to the DICOM file are decimal strings: compute the pixels
  // from those very values, so pixel * slope + intercept is as close as 16 bits allow.
  img.intercept = std::strtod(decimal_string(lo).c_str(), nullptr);
  const double slope = std::strtod(decimal_string((hi - lo) / 65535.0).c_str(), nullptr);
  if (!(hi > lo) || !(slope > 0)) {
    img.slope = 1;
    return img;
  }
  img.slope = slope;
  for (std::size_t r = 0; r < rows; ++r) {
    const fftw_complex* src = buf.get() + ((r + row_roll) % rows) * cols;
    std::uint16_t* dst = img.pixels.data() + r * cols;
    for (std::size_t c = 0; c < cols; ++c) {
      const double m = magnitude(src[(c + col_roll) % cols]) * scale;
      const double p = std::nearbyint((m - img.intercept) / slope);
      dst[c] = static_cast<std::uint16_t>(std::clamp(p, 0.0, 65535.0));
    }
  }
  return img;
}

}  // namespace cartesian
