#include "phantom.hpp"

#include <fftw3.h>

#include <cmath>
#include <complex>
#include <memory>
#include <numbers>

#include "failure.hpp"
#include "npy.hpp"
#include "recon.hpp"

namespace cartesian {

namespace {

struct Ellipse {
  double intensity, a, b, x0, y0, phi_degrees;
};

// Toft's modified Shepp-Logan table (P. Toft, "The Radon Transform", 1996; MATLAB's phantom).
constexpr Ellipse k_ellipses[] = {
    {1.0, .69, .92, 0, 0, 0},         {-.8, .6624, .8740, 0, -.0184, 0},
    {-.2, .1100, .3100, .22, 0, -18}, {-.2, .1600, .4100, -.22, 0, 18},
    {.1, .2100, .2500, 0, .35, 0},    {.1, .0460, .0460, 0, .1, 0},
    {.1, .0460, .0460, 0, -.1, 0},    {.1, .0460, .0230, -.08, -.605, 0},
    {.1, .0230, .0230, 0, -.606, 0},  {.1, .0230, .0460, .06, -.605, 0},
};

struct FftwFree {
  void operator()(fftw_complex* p) const { fftw_free(p); }
};
struct PlanFree {
  void operator()(fftw_plan_s* p) const { fftw_destroy_plan(p); }
};

}  // namespace

std::vector<double> shepp_logan(std::size_t size) {
  std::vector<double> img(size * size, 0.0);
  const double half = static_cast<double>(size - 1) / 2;
  for (const auto& e : k_ellipses) {
    const double phi = e.phi_degrees * std::numbers::pi / 180, c = std::cos(phi), s = std::sin(phi);
    for (std::size_t r = 0; r < size; ++r) {
      const double y = (half - static_cast<double>(r)) / half - e.y0;
      for (std::size_t col = 0; col < size; ++col) {
        const double x = (static_cast<double>(col) - half) / half - e.x0;
        const double u = x * c + y * s, v = y * c - x * s;
        if (u * u / (e.a * e.a) + v * v / (e.b * e.b) <= 1) img[r * size + col] += e.intensity;
      }
    }
  }
  return img;
}

void write_phantom_kspace(std::size_t size, const std::string& path) {
  if (size < k_min_phantom || size > k_max_phantom) {
    throw Failure(Exit::usage, "--phantom " + std::to_string(size) + ": the size must be between " +
                                   std::to_string(k_min_phantom) + " and " +
                                   std::to_string(k_max_phantom));
  }
  const std::size_t n = size * size;
  check_fits_in_memory(
      std::uint64_t{n} * (sizeof(fftw_complex) + sizeof(std::complex<float>) * 2 + sizeof(double)),
      "making a " + std::to_string(size) + " x " + std::to_string(size) + " phantom");
  std::unique_ptr<fftw_complex, FftwFree> buf(fftw_alloc_complex(n));
  if (!buf) throw Failure(Exit::other, "making the phantom: out of memory");
  const int side = static_cast<int>(size);
  std::unique_ptr<fftw_plan_s, PlanFree> plan(
      fftw_plan_dft_2d(side, side, buf.get(), buf.get(), FFTW_FORWARD, FFTW_ESTIMATE));
  if (!plan) throw Failure(Exit::other, "making the phantom: FFTW could not plan the transform");

  // ifftshift moves element i to (i + n - n/2) % n; fftshift reads element k from there too.
  const std::size_t roll = size - size / 2;
  {
    const std::vector<double> img = shepp_logan(size);
    for (std::size_t r = 0; r < size; ++r) {
      for (std::size_t c = 0; c < size; ++c) {
        fftw_complex& dst = buf.get()[((r + roll) % size) * size + (c + roll) % size];
        dst[0] = img[r * size + c];
        dst[1] = 0;
      }
    }
  }
  fftw_execute(plan.get());
  std::vector<std::complex<float>> kspace(n);
  for (std::size_t r = 0; r < size; ++r) {
    for (std::size_t c = 0; c < size; ++c) {
      const fftw_complex& src = buf.get()[((r + roll) % size) * size + (c + roll) % size];
      kspace[r * size + c] = {static_cast<float>(src[0]), static_cast<float>(src[1])};
    }
  }
  buf.reset();
  write_npy_complex64(path, size, size, kspace);
}

}  // namespace cartesian
