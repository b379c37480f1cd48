// Rendering one frame to PNG through dcmimgle/dcmimage and DCMTK's libpng plugin; JPEG 2000
// frames are decoded first by jpeg2000.cpp.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmimage/diregist.h>  // links in colour image support; without it RGB fails
#include <dcmtk/dcmimgle/dcmimage.h>
// dipipng.h relies on declarations from dcmimage.h, so it has to come after it.
#include <dcmtk/dcmimage/dipipng.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <wfctl/dicom/dicom.hpp>
#include <wfctl/error.hpp>

#include "dcmtk_support.hpp"
#include "jpeg2000.hpp"

namespace wfctl::dicom {

namespace {

std::string frames_text(long n) { return std::to_string(n) + (n == 1 ? " frame" : " frames"); }

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

  DicomImage image(&ds, ds.getCurrentXfer(), CIF_UsePartialAccessToPixelData, first_frame, 1);
  if (image.getStatus() != EIS_Normal) {
    throw Error(ErrorKind::invalid_input,
                path + ": cannot render the image: " + DicomImage::getString(image.getStatus()));
  }

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
      throw Error(ErrorKind::internal,
                  path + ": rendering produced a flat image from varying pixel data");
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

void render_png(const std::string& dicom_path, const std::string& png_path,
                const RenderOptions& options) {
  // Render before creating anything, so that a bad input leaves no temporary file behind.
  const std::string bytes = render(dicom_path, options);
  std::filesystem::path target(png_path);
  if (target.parent_path().empty()) target = "." / target;
  detail::write_file_atomically(target, bytes);
}

std::string render_png_bytes(const std::string& dicom_path, const RenderOptions& options) {
  return render(dicom_path, options);
}

}  // namespace wfctl::dicom
