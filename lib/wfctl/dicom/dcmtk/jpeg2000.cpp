// JPEG 2000 frames decoded with OpenJPEG into native pixel data. DCMTK 3.6.7 has no JPEG 2000
// decoder; decoding one frame into the data set lets DicomImage do the rest exactly as for an
// uncompressed file, so windowing, colour handling and PNG writing stay one code path.
#include "jpeg2000.hpp"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <openjpeg.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <wfctl/error.hpp>

#include "dcmtk_support.hpp"

namespace wfctl::dicom::detail {

namespace {

struct CodecDeleter {
  void operator()(opj_codec_t* codec) const { opj_destroy_codec(codec); }
};
struct StreamDeleter {
  void operator()(opj_stream_t* stream) const { opj_stream_destroy(stream); }
};
struct ImageDeleter {
  void operator()(opj_image_t* image) const { opj_image_destroy(image); }
};
using ImagePtr = std::unique_ptr<opj_image_t, ImageDeleter>;

// What the data set says one frame is.
struct Layout {
  long rows = 0, columns = 0, samples = 1, bits_allocated = 0, bits_stored = 0;
  bool is_signed = false;
  std::string photometric;
};

Error invalid(const std::string& what, const std::string& why) {
  return Error(ErrorKind::invalid_input, what + ": " + why);
}

// OpenJPEG reads through callbacks; these serve the codestream from memory with the semantics
// of a file (a skip past the end succeeds, the next read then reports the end).
struct Source {
  std::span<const std::uint8_t> bytes;
  std::size_t at = 0;
};

OPJ_SIZE_T read_source(void* buffer, OPJ_SIZE_T size, void* user) {
  auto& s = *static_cast<Source*>(user);
  if (s.at >= s.bytes.size()) return static_cast<OPJ_SIZE_T>(-1);
  const std::size_t n = std::min<std::size_t>(size, s.bytes.size() - s.at);
  std::memcpy(buffer, s.bytes.data() + s.at, n);
  s.at += n;
  return n;
}

OPJ_OFF_T skip_source(OPJ_OFF_T n, void* user) {
  auto& s = *static_cast<Source*>(user);
  if (n < 0 && static_cast<std::size_t>(-n) > s.at) return -1;
  s.at = static_cast<std::size_t>(static_cast<OPJ_OFF_T>(s.at) + n);
  return n;
}

OPJ_BOOL seek_source(OPJ_OFF_T to, void* user) {
  auto& s = *static_cast<Source*>(user);
  if (to < 0) return OPJ_FALSE;
  s.at = static_cast<std::size_t>(to);
  return OPJ_TRUE;
}

// The first error is the specific one; OpenJPEG follows it with generic ones.
void keep_first_error(const char* message, void* user) {
  auto& kept = *static_cast<std::string*>(user);
  if (!kept.empty() || message == nullptr) return;
  kept = message;
  while (!kept.empty() && (kept.back() == '\n' || kept.back() == ' ')) kept.pop_back();
}

void ignore_message(const char*, void*) {}

std::string size_text(std::uint64_t columns, std::uint64_t rows) {
  return std::to_string(columns) + " x " + std::to_string(rows);
}

// Checks what the header promises against the data set before paying for the decode.
void check_header(const opj_image_t& image, const Layout& layout, const std::string& what) {
  if (image.numcomps != static_cast<OPJ_UINT32>(layout.samples)) {
    throw invalid(what, "the JPEG 2000 codestream has " + std::to_string(image.numcomps) +
                            (image.numcomps == 1 ? " component" : " components") +
                            " but Samples per Pixel is " + std::to_string(layout.samples));
  }
  const std::uint64_t width = image.x1 - image.x0, height = image.y1 - image.y0;
  if (width != static_cast<std::uint64_t>(layout.columns) ||
      height != static_cast<std::uint64_t>(layout.rows)) {
    throw invalid(what, "the JPEG 2000 codestream is " + size_text(width, height) +
                            " pixels but Columns x Rows is " +
                            size_text(layout.columns, layout.rows));
  }
  for (OPJ_UINT32 c = 0; c < image.numcomps; ++c) {
    if (image.comps[c].dx != 1 || image.comps[c].dy != 1) {
      throw invalid(what, "the JPEG 2000 codestream has subsampled components");
    }
  }
}

// The Photometric Interpretation of the decoded samples (PS3.3 C.7.6.3.1.2, PS3.5 8.2.4).
// OpenJPEG undoes the codestream's component transform, so YBR_ICT and YBR_RCT decode to RGB;
// those two promise that transform, and without it the samples are neither.
std::string decoded_photometric(const Layout& layout, bool mct, const std::string& what) {
  const std::string& p = layout.photometric;
  if (layout.samples == 1) return p;
  if (p == "RGB") return p;
  if (p == "YBR_ICT" || p == "YBR_RCT") {
    if (!mct) {
      throw invalid(what, "Photometric Interpretation " + p +
                              " requires a multiple component transform in the JPEG 2000 "
                              "codestream, and it has none");
    }
    return "RGB";
  }
  // Full-resolution luminance and chrominance, whatever subsampling the name implies.
  if (p == "YBR_FULL" || p == "YBR_FULL_422") return "YBR_FULL";
  throw invalid(what, "Photometric Interpretation " + (p.empty() ? "(absent)" : p) +
                          " is not supported with JPEG 2000");
}

struct Decoded {
  ImagePtr image;
  std::string photometric;  // of the decoded samples
};

Decoded decode(std::span<const std::uint8_t> bytes, const Layout& layout, const std::string& what) {
  std::unique_ptr<opj_codec_t, CodecDeleter> codec(
      opj_create_decompress(is_jp2_file(bytes) ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K));
  std::unique_ptr<opj_stream_t, StreamDeleter> stream(
      opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE));
  if (!codec || !stream) throw Error(ErrorKind::internal, what + ": out of memory for JPEG 2000");
  std::string error;
  opj_set_error_handler(codec.get(), keep_first_error, &error);
  opj_set_warning_handler(codec.get(), ignore_message, nullptr);
  opj_set_info_handler(codec.get(), ignore_message, nullptr);
  opj_dparameters_t parameters;
  opj_set_default_decoder_parameters(&parameters);
  Source source{bytes, 0};
  opj_stream_set_user_data(stream.get(), &source, nullptr);
  opj_stream_set_user_data_length(stream.get(), bytes.size());
  opj_stream_set_read_function(stream.get(), read_source);
  opj_stream_set_skip_function(stream.get(), skip_source);
  opj_stream_set_seek_function(stream.get(), seek_source);

  const auto fail = [&](const char* step) {
    return invalid(what, std::string("the JPEG 2000 codestream ") + step +
                             (error.empty() ? "" : ": " + error));
  };
  const bool set_up = opj_setup_decoder(codec.get(), &parameters);
  // Code blocks decode in parallel: a 2048 x 2048 lossless frame takes 1.1 s instead of 1.6 s
  // on two cores. Without thread support it simply decodes on this thread.
  if (set_up && opj_has_thread_support()) opj_codec_set_threads(codec.get(), opj_get_num_cpus());
  opj_image_t* raw = nullptr;
  if (!set_up || !opj_read_header(stream.get(), codec.get(), &raw)) {
    opj_image_destroy(raw);
    throw fail("has no valid header");
  }
  Decoded decoded{ImagePtr(raw), {}};
  check_header(*decoded.image, layout, what);
  bool mct = false;  // the codestream's multiple component transform, undone by OpenJPEG
  if (opj_codestream_info_v2_t* info = opj_get_cstr_info(codec.get())) {
    mct = info->m_default_tile_info.mct != 0;
    opj_destroy_cstr_info(&info);
  }
  decoded.photometric = decoded_photometric(layout, mct, what);
  if (!opj_decode(codec.get(), stream.get(), decoded.image.get()) ||
      !opj_end_decompress(codec.get(), stream.get())) {
    throw fail("does not decode");
  }
  // A JP2 palette or channel definition can change the components while decoding.
  check_header(*decoded.image, layout, what);
  for (OPJ_UINT32 c = 0; c < decoded.image->numcomps; ++c) {
    const opj_image_comp_t& comp = decoded.image->comps[c];
    if (comp.data == nullptr || comp.w != static_cast<OPJ_UINT32>(layout.columns) ||
        comp.h != static_cast<OPJ_UINT32>(layout.rows)) {
      throw fail("decodes to fewer samples than the image has");
    }
  }
  return decoded;
}

// The samples a frame may hold under Bits Stored and Pixel Representation. An unsigned
// codestream in a signed data set is read as two's complement of Bits Stored bits: encoders
// that lose the sign this way are common, and pydicom reads such files the same way.
std::pair<std::int64_t, std::int64_t> allowed_range(const Layout& layout, bool sample_signed) {
  const std::int64_t span = std::int64_t{1} << layout.bits_stored;
  if (layout.is_signed && sample_signed) return {-span / 2, span / 2 - 1};
  return {0, span - 1};
}

template <typename T>
void interleave(const opj_image_t& image, const Layout& layout, T* out, const std::string& what) {
  const std::size_t pixels = std::size_t(layout.rows) * std::size_t(layout.columns);
  const std::size_t samples = image.numcomps;
  for (std::size_t c = 0; c < samples; ++c) {
    const opj_image_comp_t& comp = image.comps[c];
    const OPJ_INT32* in = comp.data;
    OPJ_INT32 low = std::numeric_limits<OPJ_INT32>::max();
    OPJ_INT32 high = std::numeric_limits<OPJ_INT32>::min();
    for (std::size_t i = 0; i < pixels; ++i) {
      low = std::min(low, in[i]);
      high = std::max(high, in[i]);
      // The low bits are the stored value; DicomImage masks and sign-extends at Bits Stored.
      out[i * samples + c] = static_cast<T>(static_cast<std::uint32_t>(in[i]));
    }
    const auto [min, max] = allowed_range(layout, comp.sgnd != 0);
    if (low < min || high > max) {
      throw invalid(what, "the JPEG 2000 samples range from " + std::to_string(low) + " to " +
                              std::to_string(high) + ", which does not fit Bits Stored " +
                              std::to_string(layout.bits_stored) +
                              (layout.is_signed ? " (signed)" : " (unsigned)"));
    }
  }
}

Layout layout_of(DcmDataset& ds, const std::string& what) {
  Layout layout;
  layout.rows = get_long(ds, DCM_Rows, 0);
  layout.columns = get_long(ds, DCM_Columns, 0);
  layout.samples = get_long(ds, DCM_SamplesPerPixel, 1);
  layout.bits_allocated = get_long(ds, DCM_BitsAllocated, 0);
  layout.bits_stored = get_long(ds, DCM_BitsStored, layout.bits_allocated);
  layout.is_signed = get_long(ds, DCM_PixelRepresentation, 0) == 1;
  layout.photometric = get_string(ds, DCM_PhotometricInterpretation);
  if (layout.rows <= 0 || layout.columns <= 0) {
    throw invalid(what, "Rows and Columns must be positive for the JPEG 2000 pixel data");
  }
  if (layout.samples != 1 && layout.samples != 3) {
    throw invalid(what, "Samples per Pixel " + std::to_string(layout.samples) +
                            " is not supported with JPEG 2000");
  }
  if (layout.bits_allocated != 8 && layout.bits_allocated != 16) {
    throw invalid(what, "Bits Allocated " + std::to_string(layout.bits_allocated) +
                            " is not supported with JPEG 2000 (8 or 16 are)");
  }
  if (layout.bits_stored < 1 || layout.bits_stored > layout.bits_allocated) {
    throw invalid(what, "Bits Stored " + std::to_string(layout.bits_stored) +
                            " does not fit Bits Allocated " +
                            std::to_string(layout.bits_allocated));
  }
  return layout;
}

// The decoded frame as native pixel data: OB for 8 bits, OW for 16, samples interleaved.
std::unique_ptr<DcmPixelData> native_pixel_data(const opj_image_t& image, const Layout& layout,
                                                const std::string& what) {
  const std::size_t count =
      std::size_t(layout.rows) * std::size_t(layout.columns) * std::size_t(layout.samples);
  const bool bytes = layout.bits_allocated == 8;
  // An element value has an even length, so an odd number of bytes gets one byte of padding.
  const std::size_t units = bytes ? count + count % 2 : count;
  if (units > std::numeric_limits<Uint32>::max() / 2) {
    throw invalid(what, "the frame is too large for one DICOM element");
  }
  auto element = std::make_unique<DcmPixelData>(DcmTag(DCM_PixelData, bytes ? EVR_OB : EVR_OW));
  OFCondition cond;
  if (bytes) {
    Uint8* out = nullptr;
    cond = element->createUint8Array(static_cast<Uint32>(units), out);
    if (cond.good()) interleave(image, layout, out, what);
  } else {
    Uint16* out = nullptr;
    cond = element->createUint16Array(static_cast<Uint32>(units), out);
    if (cond.good()) interleave(image, layout, out, what);
  }
  if (cond.bad()) throw Error(ErrorKind::internal, what + ": " + cond.text());
  return element;
}

}  // namespace

bool is_jpeg2000(E_TransferSyntax xfer) {
  return xfer == EXS_JPEG2000LosslessOnly || xfer == EXS_JPEG2000;
}

void decode_jpeg2000_frame(DcmDataset& ds, E_TransferSyntax xfer, unsigned frame,
                           unsigned long frames, const std::string& label) {
  const std::string what = frames > 1 ? label + ": frame " + std::to_string(frame) : label;
  const Layout layout = layout_of(ds, what);
  DcmElement* element = nullptr;
  DcmPixelSequence* sequence = nullptr;
  auto* pixels = ds.findAndGetElement(DCM_PixelData, element).good()
                     ? dynamic_cast<DcmPixelData*>(element)
                     : nullptr;
  if (pixels == nullptr || pixels->getEncapsulatedRepresentation(xfer, nullptr, sequence).bad() ||
      sequence == nullptr) {
    throw invalid(label, "the pixel data is not encapsulated as JPEG 2000 requires");
  }

  std::unique_ptr<DcmPixelData> native;
  std::string photometric;
  {
    std::vector<std::uint8_t> joined;
    const auto codestream = frame_codestream(*sequence, frame, frames, joined, label);
    const Decoded decoded = decode(codestream, layout, what);
    photometric = decoded.photometric;
    native = native_pixel_data(*decoded.image, layout, what);
  }

  // The data set now describes the one decoded frame; it is a private copy of the file.
  delete ds.remove(pixels);
  const auto check = [&](OFCondition cond) {
    if (cond.bad()) throw Error(ErrorKind::internal, label + ": " + cond.text());
  };
  check(ds.insert(native.release(), true));
  check(ds.putAndInsertString(DCM_PhotometricInterpretation, photometric.c_str()));
  if (layout.samples > 1) check(ds.putAndInsertUint16(DCM_PlanarConfiguration, 0));
  check(ds.putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(layout.bits_stored - 1)));
  if (ds.tagExists(DCM_NumberOfFrames)) check(ds.putAndInsertString(DCM_NumberOfFrames, "1"));
  ds.updateOriginalXfer();
}

}  // namespace wfctl::dicom::detail
