// Rendering one frame to PNG through dcmimgle/dcmimage and DCMTK's libpng plugin; JPEG 2000
// frames are decoded first by jpeg2000.cpp.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmimage/diregist.h>  // links in colour image support; without it RGB fails
#include <dcmtk/dcmimgle/dcmimage.h>
// dipipng.h relies on declarations from dcmimage.h, so it has to come after it.
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmimage/dipipng.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>
#include <wfctl/dicom/dicom.hpp>
#include <wfctl/error.hpp>

#include "dcmtk_support.hpp"
#include "jpeg2000.hpp"

namespace wfctl::dicom {

namespace {

std::string frames_text(long n) { return std::to_string(n) + (n == 1 ? " frame" : " frames"); }

Error bad_pixels(const std::string& path, const std::string& why) {
  return Error(ErrorKind::invalid_input, path + ": invalid pixel data: " + why);
}

// The attributes that size the pixel data, checked to lie where DICOM (and DCMTK) allow, so
// that their product is the size of a real image and cannot overflow.
struct Geometry {
  std::uint64_t rows = 0, columns = 0, samples = 1, bits = 0, frames = 1;
  bool chroma_422 = false;  // YBR_FULL_422 / YBR_PARTIAL_422: two chroma samples per two pixels

  /// The bytes of native pixel data these attributes need (PS3.5 8.1.1, 8.2): Bits Allocated 1
  /// packs eight pixels in a byte, across rows and frames. Absent when that is 2^64 or more
  /// (up to 2^16 * 2^16 * 4 * 2^31 * 8 is possible), far beyond any 32-bit value length.
  std::optional<std::uint64_t> native_bytes() const {
    std::uint64_t values = 0;
    if (__builtin_mul_overflow(rows * columns, chroma_422 ? 2 : samples, &values) ||
        __builtin_mul_overflow(values, frames, &values)) {
      return std::nullopt;
    }
    if (bits == 1) return values / 8 + (values % 8 != 0);
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(values, bits / 8, &bytes)) return std::nullopt;
    return bytes;
  }
};

// Absent sizing attributes are left for DicomImage to report ("Missing attribute").
// The modality transform (PS3.3 C.11.1) must map every stored value to a finite number: a
// slope or intercept that is not (NaN, infinity, 1e308 times a 16-bit value) renders as one
// flat grey, which would pass for a picture.
void check_rescale(DcmDataset& ds, const std::string& path) {
  Float64 slope = 1, intercept = 0;
  const bool has_slope = ds.findAndGetFloat64(DCM_RescaleSlope, slope).good();
  const bool has_intercept = ds.findAndGetFloat64(DCM_RescaleIntercept, intercept).good();
  if (!has_slope && !has_intercept) return;
  Uint16 stored = 16;
  if (ds.findAndGetUint16(DCM_BitsStored, stored).bad() || stored == 0 || stored > 64) stored = 16;
  const double largest = std::ldexp(1.0, stored);
  if (!std::isfinite(slope) || !std::isfinite(intercept) ||
      !std::isfinite(std::fabs(slope) * largest + std::fabs(intercept))) {
    throw bad_pixels(path, "Rescale Slope " + detail::get_string(ds, DCM_RescaleSlope) +
                               " and Rescale Intercept " +
                               detail::get_string(ds, DCM_RescaleIntercept) +
                               " do not map the stored values to finite numbers");
  }
}

std::optional<Geometry> geometry(DcmDataset& ds, const std::string& path) {
  Uint16 rows = 0, columns = 0, samples = 1, bits = 0;
  if (ds.findAndGetUint16(DCM_Rows, rows).bad() ||
      ds.findAndGetUint16(DCM_Columns, columns).bad() ||
      ds.findAndGetUint16(DCM_BitsAllocated, bits).bad()) {
    return std::nullopt;
  }
  if (ds.tagExists(DCM_SamplesPerPixel) &&
      ds.findAndGetUint16(DCM_SamplesPerPixel, samples).bad()) {
    return std::nullopt;
  }
  if (rows == 0 || columns == 0) {
    throw bad_pixels(path, "Rows and Columns must be at least 1 (they are " + std::to_string(rows) +
                               " and " + std::to_string(columns) + ")");
  }
  if (samples < 1 || samples > 4) {
    throw bad_pixels(path, "Samples per Pixel is " + std::to_string(samples) + ", not 1 to 4");
  }
  if (bits != 1 && (bits == 0 || bits % 8 != 0 || bits > 64)) {
    throw bad_pixels(
        path, "Bits Allocated is " + std::to_string(bits) + ", not 1 or a multiple of 8 up to 64");
  }
  const long frames = detail::get_long(ds, DCM_NumberOfFrames, 1);
  if (frames < 1 || frames > 0x7FFFFFFFL) {
    throw bad_pixels(path, "Number of Frames is " + std::to_string(frames) + ", not 1 or more");
  }
  const std::string photometric = detail::get_string(ds, DCM_PhotometricInterpretation);
  const bool chroma_422 =
      samples == 3 && photometric.starts_with("YBR_") && photometric.ends_with("_422");
  return Geometry{rows, columns, samples, bits, static_cast<std::uint64_t>(frames), chroma_422};
}

std::string size_text(const Geometry& g) {
  return std::to_string(g.rows) + " rows x " + std::to_string(g.columns) + " columns x " +
         std::to_string(g.samples) + (g.samples == 1 ? " sample x " : " samples x ") +
         std::to_string(g.bits) + " bits x " + frames_text(static_cast<long>(g.frames));
}

// Native pixel data must hold every pixel the attributes promise; DicomImage would otherwise
// render whatever memory follows a short value. A longer value (padding to an even length, or
// trailing bytes some writers leave) is accepted.
void check_native(DcmDataset& ds, const Geometry& g, const std::string& path) {
  DcmElement* pixels = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, pixels).bad() || pixels == nullptr) return;
  const std::uint64_t found = pixels->getLength();
  const std::optional<std::uint64_t> expected = g.native_bytes();
  if (!expected || found < *expected) {
    throw bad_pixels(path, size_text(g) + (g.chroma_422 ? " (4:2:2)" : "") + " need " +
                               (expected ? std::to_string(*expected) : "2^64 or more") +
                               " bytes, the pixel data has " + std::to_string(found));
  }
}

// Encapsulated pixel data needs a fragment for every frame (PS3.5 A.4; video syntaxes, whose
// frames share one stream, are not decoded at all).
void check_fragments(DcmDataset& ds, E_TransferSyntax xfer, const Geometry& g,
                     const std::string& path) {
  DcmElement* element = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) return;
  DcmPixelSequence* fragments = nullptr;
  auto* pixel_data = static_cast<DcmPixelData*>(element);
  if (pixel_data->getEncapsulatedRepresentation(xfer, nullptr, fragments).bad() ||
      fragments == nullptr) {
    throw bad_pixels(path, "the transfer syntax is encapsulated but the pixel data is not");
  }
  const unsigned long count =
      fragments->card() > 0 ? fragments->card() - 1 : 0;  // after the offset table
  if (count < g.frames) {
    throw bad_pixels(path, frames_text(static_cast<long>(g.frames)) + " but " +
                               std::to_string(count) + (count == 1 ? " fragment" : " fragments") +
                               " of encapsulated pixel data");
  }
}

bool is_video(E_TransferSyntax xfer) {
  // MPEG-2, MPEG-4 AVC/H.264 and HEVC/H.265: 1.2.840.10008.1.2.4.100 to .108.
  return std::string_view(DcmXfer(xfer).getXferID()).starts_with("1.2.840.10008.1.2.4.10");
}

bool is_constant(const unsigned char* data, unsigned long size) {
  for (unsigned long i = 1; i < size; ++i) {
    if (data[i] != data[0]) return false;
  }
  return true;
}

std::string render(const std::string& path, const RenderOptions& options) {
  detail::Loaded loaded = detail::load_file(path, path);
  DcmDataset& ds = loaded.dataset();
  if (!ds.tagExists(DCM_PixelData)) {
    throw Error(ErrorKind::invalid_input, path + ": has no pixel data, so there is no image");
  }
  const long frames = std::max(1L, detail::get_long(ds, DCM_NumberOfFrames, 1));
  if (options.frame >= static_cast<unsigned long>(frames)) {
    throw Error(ErrorKind::invalid_input,
                path + ": frame " + std::to_string(options.frame) +
                    " out of range: the image has " + frames_text(frames),
                "frames are numbered from 0");
  }
  if (options.window &&
      (!std::isfinite(options.window->first) || !(options.window->second >= 1.0))) {
    throw Error(ErrorKind::usage, "invalid window: the width must be at least 1");
  }

  // Decompress up front rather than leave it to DicomImage: DicomImage reports a missing
  // decoder only through a status that is easy to miss, and then renders a flat grey image.
  // DCMTK has no JPEG 2000 decoder, so OpenJPEG decodes the one frame that is rendered.
  const E_TransferSyntax original = loaded.original_xfer();
  const std::optional<Geometry> sizes = geometry(ds, path);
  check_rescale(ds, path);
  if (detail::fragments_in_native(ds, original)) {
    throw bad_pixels(path,
                     "encapsulated (fragments of undefined length) although the transfer syntax " +
                         detail::xfer_description(original) + " is native");
  }
  if (sizes && DcmXfer(original).isEncapsulated() && !is_video(original)) {
    check_fragments(ds, original, *sizes, path);
  }
  unsigned long first_frame = options.frame;
  if (detail::is_jpeg2000(original)) {
    detail::decode_jpeg2000_frame(ds, original, options.frame, static_cast<unsigned long>(frames),
                                  path);
    first_frame = 0;
  } else if (DcmXfer(original).isEncapsulated()) {
    const OFCondition cond = ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
    if (cond.bad() || !ds.canWriteXfer(EXS_LittleEndianExplicit)) {
      throw Error(ErrorKind::invalid_input,
                  path + ": cannot decode transfer syntax " + detail::xfer_description(original));
    }
  }

  // What is rendered now is native: the file's own, a decoder's output or the JPEG 2000 frame.
  if (const std::optional<Geometry> decoded = geometry(ds, path)) check_native(ds, *decoded, path);

  auto open_image = [&](unsigned long flags) {
    auto img = std::make_unique<DicomImage>(&ds, ds.getCurrentXfer(), CIF_UsePartialAccessToPixelData | flags,
                                            first_frame, 1);
    if (img->getStatus() != EIS_Normal) {
      throw Error(ErrorKind::invalid_input,
                  path + ": cannot render the image: " + DicomImage::getString(img->getStatus()));
    }
    return img;
  };
  std::unique_ptr<DicomImage> opened = open_image(0);
  // DCMTK's linear window divides by (width - 1): over modality values that span less than
  // a couple of units (a magnitude rescaled to 0..1, an ADC map in mm²/s) the min-max window
  // becomes a step. A linear rescale with a positive slope does not change a min-max window's
  // picture, so window the stored values then.
  if (opened->isMonochrome() && !options.window) {
    double min = 0, max = 0;
    Float64 slope = 1;
    const bool linear = ds.findAndGetFloat64(DCM_RescaleSlope, slope).bad() || slope > 0;
    if (linear && !ds.tagExists(DCM_ModalityLUTSequence) && opened->getMinMaxValues(min, max) != 0 && max > min &&
        max - min < 2.0)
      opened = open_image(CIF_IgnoreModalityTransformation);
  }
  DicomImage& image = *opened;

  bool check_flat = false;
  if (image.isMonochrome()) {
    if (options.window) {
      image.setWindow(options.window->first, options.window->second);
    } else {
      image.setMinMaxWindow(0);
      double min = 0, max = 0;
      check_flat = image.getMinMaxValues(min, max) != 0 && max > min;
    }
  }
  if (check_flat) {
    const auto* pixels = static_cast<const unsigned char*>(image.getOutputData(8, 0, 0));
    if (pixels == nullptr) {
      throw Error(ErrorKind::invalid_input,
                  path + ": cannot render the image: " + DicomImage::getString(image.getStatus()));
    }
    if (is_constant(pixels, image.getOutputDataSize(8))) {
      // DCMTK found different pixel values but maps them all to one grey: the attributes
      // that map values to grey levels (rescale, LUTs, bits stored) contradict the pixels.
      throw Error(ErrorKind::invalid_input,
                  path +
                      ": cannot render the image: its pixel values differ, but its attributes "
                      "map them all to one grey level");
    }
    image.deleteOutputData();
  }

  char* buffer = nullptr;
  std::size_t size = 0;
  FILE* stream = ::open_memstream(&buffer, &size);
  if (stream == nullptr) throw Error(ErrorKind::internal, "out of memory while rendering");
  DiPNGPlugin png;
  png.setInterlaceType(E_pngInterlaceNone);
  png.setMetainfoType(E_pngNoMetainfo);  // no timestamp: the same input gives the same bytes
  const int written = image.writePluginFormat(&png, stream, 0);
  const bool closed = std::fclose(stream) == 0;
  const std::unique_ptr<char, decltype(&std::free)> owner(buffer, &std::free);
  if (!written || !closed || size == 0) {
    throw Error(ErrorKind::internal, path + ": cannot encode the image as PNG");
  }
  return std::string(buffer, size);
}

}  // namespace

std::string render_png_bytes(const std::string& dicom_path, const RenderOptions& options) {
  return render(dicom_path, options);
}

}  // namespace wfctl::dicom
