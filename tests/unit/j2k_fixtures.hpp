#pragma once
// JPEG 2000 test files made on the spot: pictures with known samples, written both as native
// explicit VR little endian DICOM and as JPEG 2000 (encoded with OpenJPEG) in any
// encapsulation, so that each decoded frame can be compared with its uncompressed twin.
// pydicom's sample files have no multi-frame, signed 8-bit or YBR_ICT JPEG 2000 image.
#include <openjpeg.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace wfctl::test {

/// What a test file holds: every frame's samples, interleaved, rows * columns * samples each.
struct Picture {
  long rows = 48, columns = 64, samples = 1, bits_allocated = 16, bits_stored = 16;
  bool is_signed = false;
  std::string photometric = "MONOCHROME2";
  std::vector<std::vector<std::int32_t>> frames;
};

struct J2kOptions {
  bool lossless = true;
  bool mct = false;    // the codestream's multiple component transform (RCT or ICT)
  int precision = 0;   // 0: Bits Stored
  int is_signed = -1;  // -1: as the picture
  float ratio = 8;     // lossy compression ratio
};

inline constexpr const char* k_explicit_le = "1.2.840.10008.1.2.1";
inline constexpr const char* k_j2k_lossless = "1.2.840.10008.1.2.4.90";
inline constexpr const char* k_j2k = "1.2.840.10008.1.2.4.91";

namespace j2k_detail {

struct Sink {
  std::string bytes;
  std::size_t at = 0;
};

inline OPJ_SIZE_T write_sink(void* buffer, OPJ_SIZE_T n, void* user) {
  auto& s = *static_cast<Sink*>(user);
  if (s.at + n > s.bytes.size()) s.bytes.resize(s.at + n);
  std::memcpy(s.bytes.data() + s.at, buffer, n);
  s.at += n;
  return n;
}
inline OPJ_OFF_T skip_sink(OPJ_OFF_T n, void* user) {
  auto& s = *static_cast<Sink*>(user);
  s.at = static_cast<std::size_t>(static_cast<OPJ_OFF_T>(s.at) + n);
  if (s.at > s.bytes.size()) s.bytes.resize(s.at);
  return n;
}
inline OPJ_BOOL seek_sink(OPJ_OFF_T to, void* user) {
  static_cast<Sink*>(user)->at = static_cast<std::size_t>(to);
  return OPJ_TRUE;
}

inline void le16(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>(v & 0xFF));
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
}
inline void le32(std::string& out, std::uint32_t v) {
  le16(out, v & 0xFFFF);
  le16(out, v >> 16);
}

// One explicit VR little endian element; values are padded to even length as PS3.5 7.1 asks.
inline void element(std::string& out, std::uint16_t group, std::uint16_t elem, const char* vr,
                    std::string value) {
  const bool text = std::strcmp(vr, "UI") != 0 && std::strcmp(vr, "OB") != 0;
  if (value.size() % 2) value.push_back(text ? ' ' : '\0');
  le16(out, group);
  le16(out, elem);
  out += vr;
  if (std::strcmp(vr, "OB") == 0 || std::strcmp(vr, "OW") == 0) {
    le16(out, 0);
    le32(out, static_cast<std::uint32_t>(value.size()));
  } else {
    le16(out, static_cast<std::uint32_t>(value.size()));
  }
  out += value;
}
inline void us(std::string& out, std::uint16_t elem, long v) {
  std::string value;
  le16(value, static_cast<std::uint32_t>(v));
  element(out, 0x0028, elem, "US", value);
}

// Everything up to the pixel data: meta header and the attributes of an image.
inline std::string header(const Picture& p, const char* syntax) {
  const std::string sop_class = "1.2.840.10008.5.1.4.1.1.7", sop = "1.2.826.0.1.3680043.2.1143.7.1";
  std::string meta;
  element(meta, 0x0002, 0x0001, "OB", std::string("\0\1", 2));
  element(meta, 0x0002, 0x0002, "UI", sop_class);
  element(meta, 0x0002, 0x0003, "UI", sop);
  element(meta, 0x0002, 0x0010, "UI", syntax);
  element(meta, 0x0002, 0x0012, "UI", "1.2.826.0.1.3680043.2.1143.107");
  std::string out(128, '\0');
  out += "DICM";
  std::string length;
  le32(length, static_cast<std::uint32_t>(meta.size()));
  element(out, 0x0002, 0x0000, "UL", length);
  out += meta;
  element(out, 0x0008, 0x0016, "UI", sop_class);
  element(out, 0x0008, 0x0018, "UI", sop);
  element(out, 0x0008, 0x0060, "CS", "OT");
  element(out, 0x0010, 0x0010, "PN", "Test^JPEG2000");
  element(out, 0x0010, 0x0020, "LO", "J2K1");
  element(out, 0x0020, 0x000D, "UI", "1.2.826.0.1.3680043.2.1143.7.2");
  element(out, 0x0020, 0x000E, "UI", "1.2.826.0.1.3680043.2.1143.7.3");
  us(out, 0x0002, p.samples);
  element(out, 0x0028, 0x0004, "CS", p.photometric);
  if (p.samples > 1) us(out, 0x0006, 0);
  element(out, 0x0028, 0x0008, "IS", std::to_string(p.frames.size()));
  us(out, 0x0010, p.rows);
  us(out, 0x0011, p.columns);
  us(out, 0x0100, p.bits_allocated);
  us(out, 0x0101, p.bits_stored);
  us(out, 0x0102, p.bits_stored - 1);
  us(out, 0x0103, p.is_signed ? 1 : 0);
  return out;
}

}  // namespace j2k_detail

/// The picture as an uncompressed file: samples stored in Bits Allocated, two's complement.
inline std::string native_file(const Picture& p) {
  std::string pixels;
  for (const auto& frame : p.frames) {
    for (const std::int32_t v : frame) {
      const auto bits = static_cast<std::uint32_t>(v);
      if (p.bits_allocated == 8) {
        pixels.push_back(static_cast<char>(bits & 0xFF));
      } else {
        j2k_detail::le16(pixels, bits & 0xFFFF);
      }
    }
  }
  std::string out = j2k_detail::header(p, k_explicit_le);
  j2k_detail::element(out, 0x7FE0, 0x0010, p.bits_allocated == 8 ? "OB" : "OW", pixels);
  return out;
}

/// Frame `frame` of the picture as a JPEG 2000 codestream; throws std::runtime_error when
/// OpenJPEG cannot encode it.
inline std::string j2k_codestream(const Picture& p, std::size_t frame = 0,
                                  const J2kOptions& o = {}) {
  const auto n = static_cast<OPJ_UINT32>(p.samples);
  std::vector<opj_image_cmptparm_t> parms(n);
  for (auto& c : parms) {
    std::memset(&c, 0, sizeof c);
    c.dx = c.dy = 1;
    c.w = static_cast<OPJ_UINT32>(p.columns);
    c.h = static_cast<OPJ_UINT32>(p.rows);
    c.prec = static_cast<OPJ_UINT32>(o.precision ? o.precision : p.bits_stored);
    c.sgnd = static_cast<OPJ_UINT32>(o.is_signed < 0 ? p.is_signed : o.is_signed != 0);
  }
  std::unique_ptr<opj_image_t, decltype(&opj_image_destroy)> image(
      opj_image_create(n, parms.data(), n == 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY),
      &opj_image_destroy);
  if (!image) throw std::runtime_error("opj_image_create failed");
  image->x1 = static_cast<OPJ_UINT32>(p.columns);
  image->y1 = static_cast<OPJ_UINT32>(p.rows);
  const auto& samples = p.frames.at(frame);
  const std::size_t pixels = std::size_t(p.rows) * std::size_t(p.columns);
  for (std::size_t i = 0; i < pixels; ++i) {
    for (OPJ_UINT32 c = 0; c < n; ++c) image->comps[c].data[i] = samples[i * n + c];
  }

  opj_cparameters_t parameters;
  opj_set_default_encoder_parameters(&parameters);
  parameters.tcp_numlayers = 1;
  parameters.cp_disto_alloc = 1;
  parameters.tcp_rates[0] = o.lossless ? 0 : o.ratio;
  parameters.irreversible = o.lossless ? 0 : 1;
  parameters.tcp_mct = static_cast<char>(o.mct ? 1 : 0);
  parameters.numresolution = 4;
  std::unique_ptr<opj_codec_t, decltype(&opj_destroy_codec)> codec(
      opj_create_compress(OPJ_CODEC_J2K), &opj_destroy_codec);
  j2k_detail::Sink sink;
  std::unique_ptr<opj_stream_t, decltype(&opj_stream_destroy)> stream(
      opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_FALSE), &opj_stream_destroy);
  opj_stream_set_user_data(stream.get(), &sink, nullptr);
  opj_stream_set_write_function(stream.get(), j2k_detail::write_sink);
  opj_stream_set_skip_function(stream.get(), j2k_detail::skip_sink);
  opj_stream_set_seek_function(stream.get(), j2k_detail::seek_sink);
  if (!opj_setup_encoder(codec.get(), &parameters, image.get()) ||
      !opj_start_compress(codec.get(), image.get(), stream.get()) ||
      !opj_encode(codec.get(), stream.get()) || !opj_end_compress(codec.get(), stream.get())) {
    throw std::runtime_error("OpenJPEG cannot encode the test picture");
  }
  return sink.bytes;
}

/// How the codestreams sit in the pixel data.
struct Encapsulation {
  bool offset_table = true;    // a Basic Offset Table, else an empty first item
  std::size_t pieces = 1;      // fragments per frame
  bool wrong_offsets = false;  // offsets that point between fragments, as a broken writer's
};

/// The picture as a JPEG 2000 file in `syntax` holding `codestreams`, one per frame.
inline std::string j2k_file(const Picture& p, const std::vector<std::string>& codestreams,
                            const char* syntax = k_j2k_lossless, Encapsulation e = {}) {
  std::vector<std::string> fragments;
  std::vector<std::uint32_t> offsets;
  std::uint32_t position = 0;
  for (const std::string& codestream : codestreams) {
    offsets.push_back(position);
    // Fragments have even lengths, so only the last piece of a frame may be padded.
    const std::size_t piece = (codestream.size() / e.pieces) & ~std::size_t{1};
    for (std::size_t k = 0; k < e.pieces; ++k) {
      std::string f =
          k + 1 < e.pieces ? codestream.substr(k * piece, piece) : codestream.substr(k * piece);
      if (f.size() % 2) f.push_back('\0');
      position += static_cast<std::uint32_t>(8 + f.size());
      fragments.push_back(std::move(f));
    }
  }
  std::string out = j2k_detail::header(p, syntax);
  j2k_detail::le16(out, 0x7FE0);
  j2k_detail::le16(out, 0x0010);
  out += "OB";
  j2k_detail::le16(out, 0);
  j2k_detail::le32(out, 0xFFFFFFFFu);
  const auto item = [&](const std::string& value) {
    j2k_detail::le16(out, 0xFFFE);
    j2k_detail::le16(out, 0xE000);
    j2k_detail::le32(out, static_cast<std::uint32_t>(value.size()));
    out += value;
  };
  std::string table;
  if (e.offset_table) {
    for (const std::uint32_t offset : offsets)
      j2k_detail::le32(table, offset + (e.wrong_offsets ? 2 : 0));
  }
  item(table);
  for (const std::string& f : fragments) item(f);
  j2k_detail::le16(out, 0xFFFE);
  j2k_detail::le16(out, 0xE0DD);
  j2k_detail::le32(out, 0);
  return out;
}

/// Every frame of the picture encoded with the same options.
inline std::vector<std::string> j2k_codestreams(const Picture& p, const J2kOptions& o = {}) {
  std::vector<std::string> out;
  for (std::size_t f = 0; f < p.frames.size(); ++f) out.push_back(j2k_codestream(p, f, o));
  return out;
}

/// The one fragment after the Basic Offset Table of the last encapsulated Pixel Data in an
/// explicit VR little endian file; throws std::runtime_error when there is not exactly one.
inline std::string only_fragment(const std::string& file) {
  // The tag, OB (or OW, which some writers use) and an undefined length.
  const std::size_t at_tag = file.rfind(std::string("\xE0\x7F\x10\x00", 4));
  if (at_tag == std::string::npos || at_tag + 12 > file.size() ||
      (file.compare(at_tag + 4, 2, "OB") != 0 && file.compare(at_tag + 4, 2, "OW") != 0) ||
      file.compare(at_tag + 8, 4, "\xFF\xFF\xFF\xFF") != 0) {
    throw std::runtime_error("no encapsulated pixel data");
  }
  std::size_t at = at_tag + 12;
  const auto item = [&](const char* tag) {
    if (at + 8 > file.size() || file.compare(at, 4, tag, 4) != 0) {
      throw std::runtime_error("not one fragment after the offset table");
    }
    const auto length = std::uint32_t(std::uint8_t(file[at + 4])) |
                        std::uint32_t(std::uint8_t(file[at + 5])) << 8 |
                        std::uint32_t(std::uint8_t(file[at + 6])) << 16 |
                        std::uint32_t(std::uint8_t(file[at + 7])) << 24;
    std::string value = file.substr(at + 8, length);
    at += 8 + length;
    return value;
  };
  item("\xFE\xFF\x00\xE0");  // the Basic Offset Table
  std::string fragment = item("\xFE\xFF\x00\xE0");
  item("\xFE\xFF\xDD\xE0");  // the sequence delimiter: nothing else follows
  return fragment;
}

/// The codestream (or JP2 file) at `path` decoded by OpenJPEG alone, components interleaved;
/// throws std::runtime_error when it does not decode.
inline std::vector<std::int32_t> j2k_decode_file(const std::string& path, bool jp2) {
  std::unique_ptr<opj_codec_t, decltype(&opj_destroy_codec)> codec(
      opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K), &opj_destroy_codec);
  std::unique_ptr<opj_stream_t, decltype(&opj_stream_destroy)> stream(
      opj_stream_create_default_file_stream(path.c_str(), OPJ_TRUE), &opj_stream_destroy);
  opj_dparameters_t parameters;
  opj_set_default_decoder_parameters(&parameters);
  opj_image_t* raw = nullptr;
  const bool ok = stream && opj_setup_decoder(codec.get(), &parameters) &&
                  opj_read_header(stream.get(), codec.get(), &raw);
  std::unique_ptr<opj_image_t, decltype(&opj_image_destroy)> image(raw, &opj_image_destroy);
  if (!ok || !opj_decode(codec.get(), stream.get(), image.get()) ||
      !opj_end_decompress(codec.get(), stream.get())) {
    throw std::runtime_error("OpenJPEG cannot decode " + path);
  }
  const std::size_t n = image->numcomps,
                    pixels = std::size_t(image->comps[0].w) * image->comps[0].h;
  std::vector<std::int32_t> out(pixels * n);
  for (std::size_t i = 0; i < pixels; ++i) {
    for (std::size_t c = 0; c < n; ++c) out[i * n + c] = image->comps[c].data[i];
  }
  return out;
}

}  // namespace wfctl::test
