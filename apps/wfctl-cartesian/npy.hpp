// NumPy .npy files of 2-D complex k-space: the header (versions 1.0, 2.0, 3.0) parsed as the
// Python dict literal it is, the data read in either byte order and either memory order.
#pragma once
#include <complex>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "failure.hpp"

namespace cartesian {

/// The largest side accepted: DICOM's Rows and Columns are 16-bit.
inline constexpr std::uint64_t k_max_side = 65535;
/// The largest number of elements accepted (2^28: 4 GiB of complex double to transform).
inline constexpr std::uint64_t k_max_elements = std::uint64_t{1} << 28;

/// What the header dictionary of a k-space .npy says.
struct NpyLayout {
  std::size_t item_size = 0;  ///< 8 (complex64) or 16 (complex128)
  bool big_endian = false;
  bool fortran_order = false;
  std::size_t rows = 0;
  std::size_t cols = 0;
};

/// Parses the header dictionary ("{'descr': '<c8', 'fortran_order': False, 'shape': (4, 6), }"
/// with its padding): exactly the three keys, in any order; a complex dtype; a 2-D shape within
/// k_max_side and k_max_elements. Throws Failure(invalid_input) saying what is wrong.
NpyLayout parse_npy_header(std::string_view dict);

/// An open k-space .npy file whose header was parsed and checked against the file's size.
class NpyReader {
 public:
  /// Opens and checks `path`. Throws Failure: usage when it does not exist or is not a regular
  /// file, invalid_input for anything that is not a well-formed 2-D complex .npy, other for
  /// read errors.
  explicit NpyReader(std::string path);
  ~NpyReader();
  NpyReader(const NpyReader&) = delete;
  NpyReader& operator=(const NpyReader&) = delete;

  const NpyLayout& layout() const { return m_layout; }

  /// Reads every element as complex double into `out` (rows*cols, row-major), element (i, j)
  /// at ((i + row_roll) % rows, (j + col_roll) % cols), which lets the caller fold a circular
  /// shift (ifftshift) into the read. Throws Failure(invalid_input) for a file that ends early
  /// or holds a NaN or an infinity, Failure(other) for read errors.
  void read(std::span<std::complex<double>> out, std::size_t row_roll, std::size_t col_roll);

 private:
  [[noreturn]] void fail(Exit exit, const std::string& why) const;
  std::string m_path;
  int m_fd = -1;
  NpyLayout m_layout;
};

/// Writes a rows x cols complex64 array (row-major) as a little-endian C-order .npy with a
/// version 1.0 header padded as NumPy pads it, atomically. Throws Failure(other).
void write_npy_complex64(const std::string& path, std::size_t rows, std::size_t cols,
                         std::span<const std::complex<float>> data);

}  // namespace cartesian
