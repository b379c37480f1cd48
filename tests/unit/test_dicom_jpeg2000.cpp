// JPEG 2000 previews: pydicom's JPEG 2000 files against their uncompressed twins, and pictures
// encoded here in every layout the decoder has to handle (frames, fragments, sign, depth,
// colour transforms), each compared pixel by pixel with the same picture stored uncompressed.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <optional>
#include <wfctl/dicom/dicom.hpp>
#include <wfctl/error.hpp>

#include "dicom_fixtures.hpp"
#include "expect_error.hpp"
#include "j2k_fixtures.hpp"
#include "temp_dir.hpp"

namespace dicom = wfctl::dicom;
using wfctl::ErrorKind;
using wfctl::test::error_of;
using wfctl::test::j2k_codestream;
using wfctl::test::j2k_codestreams;
using wfctl::test::j2k_file;
using wfctl::test::native_file;
using wfctl::test::Picture;
using wfctl::test::Png;
using wfctl::test::pydicom_file;
using wfctl::test::TempDir;

namespace {

Png render(const std::string& path, unsigned frame = 0,
           std::optional<std::pair<double, double>> window = std::nullopt) {
  dicom::RenderOptions options;
  options.frame = frame;
  options.window = window;
  return wfctl::test::decode_png(dicom::render_png_bytes(path, options));
}

void check_same(const Png& a, const Png& b) {
  REQUIRE(a.width == b.width);
  REQUIRE(a.height == b.height);
  REQUIRE(a.colour_type == b.colour_type);
  CHECK_FALSE(a.constant());
  // Count rather than compare the vectors: Catch would print every sample of both.
  std::size_t differing = 0, first = 0;
  for (std::size_t i = a.pixels.size(); i-- > 0;) {
    if (a.pixels[i] != b.pixels[i]) ++differing, first = i;
  }
  INFO("first differing sample " << first);
  CHECK(differing == 0);
}

double mean_abs_diff(const Png& a, const Png& b) {
  REQUIRE(a.width == b.width);
  REQUIRE(a.height == b.height);
  REQUIRE(a.colour_type == b.colour_type);
  double sum = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) sum += std::abs(a.pixels[i] - b.pixels[i]);
  return sum / static_cast<double>(a.pixels.size());
}

// Samples that use the whole range of Bits Stored and differ from frame to frame; `smooth`
// gives a picture lossy coding keeps close.
Picture picture(long samples, long bits_stored, bool is_signed, long frames = 1,
                bool smooth = false) {
  Picture p;
  p.samples = samples;
  p.bits_allocated = bits_stored > 8 ? 16 : 8;
  p.bits_stored = bits_stored;
  p.is_signed = is_signed;
  p.photometric = samples == 3 ? "RGB" : "MONOCHROME2";
  const std::int64_t range = std::int64_t{1} << bits_stored;
  const std::int64_t low = is_signed ? -range / 2 : 0;
  for (long f = 0; f < frames; ++f) {
    std::vector<std::int32_t> frame;
    for (long y = 0; y < p.rows; ++y) {
      for (long x = 0; x < p.columns; ++x) {
        for (long c = 0; c < samples; ++c) {
          std::int64_t v = 0;
          if (smooth) {
            const double wave =
                std::sin(double(x + 9 * c + 5 * f) / 9.0) * std::cos(double(y) / 7.0);
            v = static_cast<std::int64_t>((0.5 + 0.45 * wave) * double(range - 1));
          } else {
            v = (x * 131 + y * 71 + c * 977 + f * 1009 + (x * y) % 97) % range;
          }
          frame.push_back(static_cast<std::int32_t>(low + v));
        }
      }
    }
    p.frames.push_back(std::move(frame));
  }
  return p;
}

// Writes the picture uncompressed and as JPEG 2000 and returns both paths.
std::pair<std::string, std::string> twins(const TempDir& dir, const std::string& name,
                                          const Picture& native, const std::string& j2k) {
  const std::string a = (dir / (name + "_native.dcm")).string();
  const std::string b = (dir / (name + "_j2k.dcm")).string();
  wfctl::test::write_bytes(a, native_file(native));
  wfctl::test::write_bytes(b, j2k);
  return {a, b};
}

}  // namespace

TEST_CASE("MR_small_jp2klossless renders pixel-identical to MR_small", "[dicom][j2k]") {
  const std::string j2k = pydicom_file("MR_small_jp2klossless.dcm");
  const std::string native = pydicom_file("MR_small.dcm");
  check_same(render(j2k), render(native));
  check_same(render(j2k, 0, std::make_pair(600.0, 1600.0)),
             render(native, 0, std::make_pair(600.0, 1600.0)));
  dicom::RenderOptions second;
  second.frame = 1;
  CHECK(error_of(ErrorKind::invalid_input, [&] { dicom::render_png_bytes(j2k, second); }) ==
        j2k + ": frame 1 out of range: the image has 1 frame");
}

TEST_CASE("SC_rgb_gdcm_KY, lossy JPEG 2000, renders close to SC_rgb_rle", "[dicom][j2k]") {
  const Png lossy = render(pydicom_file("SC_rgb_gdcm_KY.dcm"));
  const Png lossless = render(pydicom_file("SC_rgb_rle.dcm"));
  CHECK(lossy.colour_type == 2);
  CHECK(mean_abs_diff(lossy, lossless) < 2.0);
}

TEST_CASE("pydicom's other JPEG 2000 files render", "[dicom][j2k]") {
  // YBR_RCT with the component transform, in a JP2 wrapper: red, green and blue text on grey.
  const Png text = render(pydicom_file("GDCMJ2K_TextGBR.dcm"));
  REQUIRE(text.colour_type == 2);
  int red = 0, green = 0, blue = 0;
  for (std::size_t i = 0; i < text.pixels.size(); i += 3) {
    const int r = text.pixels[i], g = text.pixels[i + 1], b = text.pixels[i + 2];
    red += r > 200 && g < 60 && b < 60;
    green += g > 200 && r < 60 && b < 60;
    blue += b > 200 && r < 60 && g < 60;
  }
  CHECK(red > 1000);
  CHECK(green > 1000);
  CHECK(blue > 1000);
  CHECK(text.pixels[0] == text.pixels[1]);  // the grey background stays grey

  // An unsigned 13-bit codestream in a signed data set holds two's complement values: the air
  // outside the head (about -1000) must come out darker than the brain, not brighter.
  const Png ct = render(pydicom_file("J2K_pixelrep_mismatch.dcm"));
  const auto at = [&](std::uint32_t x, std::uint32_t y) { return ct.pixels[y * ct.width + x]; };
  CHECK(at(5, 5) < at(256, 300));

  // A 16-bit codestream whose values fit the file's Bits Stored 14.
  CHECK(render(pydicom_file("693_J2KI.dcm")).width == 512);
  const Png nm = render(pydicom_file("JPEG2000.dcm"));
  CHECK(nm.width == 256);
  CHECK(nm.height == 1024);
  CHECK_FALSE(nm.constant());
}

TEST_CASE("pydicom's JPEG 2000 files render as their frame decoded by OpenJPEG alone",
          "[dicom][j2k]") {
  // pydicom ships no uncompressed twin of these (Debian leaves out pydicom-data), so the twin is
  // made here: the fragment decoded by OpenJPEG directly, stored uncompressed with the file's
  // attributes. That checks everything between the file and the decoder: fragments, JP2
  // wrappers, sign and depth, component order, the colour model.
  TempDir dir;
  for (const char* name :
       {"MR_small_jp2klossless.dcm", "JPEG2000.dcm", "693_J2KI.dcm", "J2K_pixelrep_mismatch.dcm",
        "SC_rgb_gdcm_KY.dcm", "GDCMJ2K_TextGBR.dcm"}) {
    INFO(name);
    const std::string path = pydicom_file(name);
    const wfctl::Json attributes = dicom::to_dicom_json(path);
    const auto number = [&](const char* tag) { return attributes[tag]["Value"][0].get<long>(); };
    const std::string fragment = wfctl::test::only_fragment(wfctl::test::read_bytes(path));
    const std::string codestream = (dir / "frame.j2k").string();
    wfctl::test::write_bytes(codestream, fragment);
    Picture twin;
    twin.rows = number("00280010");
    twin.columns = number("00280011");
    twin.samples = number("00280002");
    twin.bits_allocated = number("00280100");
    twin.bits_stored = number("00280101");
    twin.is_signed = number("00280103") == 1;
    // OpenJPEG undoes a component transform, so colour comes out as RGB.
    twin.photometric = twin.samples == 3 ? "RGB" : attributes["00280004"]["Value"][0];
    twin.frames = {
        wfctl::test::j2k_decode_file(codestream, fragment.compare(0, 4, "\0\0\0\x0c", 4) == 0)};
    const std::string native = (dir / "twin.dcm").string();
    wfctl::test::write_bytes(native, native_file(twin));
    check_same(render(path), render(native));
  }
}

TEST_CASE("every frame of a multi-frame JPEG 2000 file renders, however it is fragmented",
          "[dicom][j2k]") {
  TempDir dir;
  const Picture p = picture(1, 12, false, 3);
  const auto codestreams = j2k_codestreams(p);
  const std::string native = (dir / "native.dcm").string();
  wfctl::test::write_bytes(native, native_file(p));
  struct Case {
    const char* name;
    wfctl::test::Encapsulation encapsulation;
  };
  const Case cases[] = {{"offset table", {true, 1}},
                        {"one fragment per frame", {false, 1}},
                        {"several fragments per frame", {false, 3}},
                        {"offset table, several fragments", {true, 2}},
                        {"a wrong offset table is not trusted", {true, 2, true}}};
  for (const Case& c : cases) {
    INFO(c.name);
    const std::string path = (dir / "j2k.dcm").string();
    wfctl::test::write_bytes(
        path, j2k_file(p, codestreams, wfctl::test::k_j2k_lossless, c.encapsulation));
    CHECK(dicom::read_summary(path).number_of_frames == 3);
    for (unsigned f = 0; f < 3; ++f) check_same(render(path, f), render(native, f));
    CHECK(mean_abs_diff(render(path, 0), render(path, 1)) > 10);
    dicom::RenderOptions fourth;
    fourth.frame = 3;
    CHECK(error_of(ErrorKind::invalid_input, [&] { dicom::render_png_bytes(path, fourth); }) ==
          path + ": frame 3 out of range: the image has 3 frames");
  }
}

TEST_CASE("lossless JPEG 2000 renders pixel-identical whatever the depth and sign",
          "[dicom][j2k]") {
  TempDir dir;
  struct Case {
    const char* name;
    long samples, bits_stored;
    bool is_signed;
    wfctl::test::J2kOptions options;
    const char* photometric;
  };
  const Case cases[] = {
      {"8-bit unsigned grey", 1, 8, false, {}, nullptr},
      {"8-bit signed grey", 1, 8, true, {}, nullptr},
      {"7 of 8 bits, unsigned", 1, 7, false, {}, nullptr},
      {"16-bit unsigned grey", 1, 16, false, {}, nullptr},
      {"16-bit signed grey", 1, 16, true, {}, nullptr},
      {"13 of 16 bits, signed", 1, 13, true, {}, nullptr},
      {"16-bit codestream whose values fit Bits Stored 12",
       1,
       12,
       true,
       {true, false, 16, -1, 8},
       nullptr},
      {"RGB without component transform", 3, 8, false, {}, "RGB"},
      {"RGB with the reversible transform, YBR_RCT", 3, 8, false, {true, true}, "YBR_RCT"},
      {"RGB with the reversible transform, labelled RGB", 3, 8, false, {true, true}, "RGB"},
      {"12-bit RGB, YBR_RCT", 3, 12, false, {true, true}, "YBR_RCT"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const Picture p = picture(c.samples, c.bits_stored, c.is_signed);
    Picture labelled = p;
    if (c.photometric) labelled.photometric = c.photometric;
    const auto [native, j2k] =
        twins(dir, "case", p, j2k_file(labelled, {j2k_codestream(p, 0, c.options)}));
    check_same(render(j2k), render(native));
  }
}

TEST_CASE("an unsigned codestream in a signed data set reads as two's complement", "[dicom][j2k]") {
  TempDir dir;
  Picture p = picture(1, 13, true);
  Picture unsigned_view = p;
  for (auto& v : unsigned_view.frames[0]) v &= 0x1FFF;  // the same 13 bits, read unsigned
  wfctl::test::J2kOptions unsigned_codestream;
  unsigned_codestream.is_signed = 0;
  const auto [native, j2k] = twins(
      dir, "mismatch", p, j2k_file(p, {j2k_codestream(unsigned_view, 0, unsigned_codestream)}));
  check_same(render(j2k), render(native));
}

TEST_CASE("lossy JPEG 2000 renders close to the original", "[dicom][j2k]") {
  TempDir dir;
  wfctl::test::J2kOptions lossy;
  lossy.lossless = false;
  wfctl::test::J2kOptions lossy_ict = lossy;
  lossy_ict.mct = true;
  struct Case {
    const char* name;
    Picture picture;
    wfctl::test::J2kOptions options;
    const char* photometric;
  };
  const Case cases[] = {
      {"16-bit signed grey", picture(1, 16, true, 1, true), lossy, "MONOCHROME2"},
      {"12-bit unsigned grey", picture(1, 12, false, 1, true), lossy, "MONOCHROME2"},
      {"RGB with the irreversible transform, YBR_ICT", picture(3, 8, false, 1, true), lossy_ict,
       "YBR_ICT"},
      {"RGB without component transform", picture(3, 8, false, 1, true), lossy, "RGB"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    Picture labelled = c.picture;
    labelled.photometric = c.photometric;
    const auto [native, j2k] =
        twins(dir, "lossy", c.picture,
              j2k_file(labelled, {j2k_codestream(c.picture, 0, c.options)}, wfctl::test::k_j2k));
    const Png decoded = render(j2k), original = render(native);
    CHECK(mean_abs_diff(decoded, original) < 3.0);
    CHECK(decoded.colour_type == (c.picture.samples == 3 ? 2 : 0));
  }
}

TEST_CASE("only the rendered frame is decoded", "[dicom][j2k]") {
  TempDir dir;
  const Picture p = picture(1, 8, false, 2);
  auto codestreams = j2k_codestreams(p);
  const std::string intact = codestreams[0];
  codestreams[1] = intact.substr(0, intact.size() / 2);  // cut short
  const std::string path = (dir / "half.dcm").string();
  wfctl::test::write_bytes(path, j2k_file(p, codestreams));
  CHECK(render(path, 0).width == 64);
  CHECK_THAT(error_of(ErrorKind::invalid_input, [&] { render(path, 1); }),
             Catch::StartsWith(path + ": frame 1: the JPEG 2000 codestream does not decode"));
}

TEST_CASE("JPEG 2000 that disagrees with the data set is refused, naming the file and why",
          "[dicom][j2k]") {
  TempDir dir;
  const Picture grey = picture(1, 12, false);
  const std::string grey_codestream = j2k_codestream(grey);
  struct Case {
    const char* name;
    Picture declared;
    std::string codestream;
    std::string why;
  };
  std::vector<Case> cases;
  Picture rows = grey;
  rows.rows = 40;
  cases.push_back({"rows", rows, grey_codestream,
                   "the JPEG 2000 codestream is 64 x 48 pixels but Columns x Rows is 64 x 40"});
  Picture columns = grey;
  columns.columns = 32;
  cases.push_back({"columns", columns, grey_codestream,
                   "the JPEG 2000 codestream is 64 x 48 pixels but Columns x Rows is 32 x 48"});
  Picture colour = grey;
  colour.samples = 3;
  colour.photometric = "RGB";
  cases.push_back({"samples", colour, grey_codestream,
                   "the JPEG 2000 codestream has 1 component but Samples per Pixel is 3"});
  Picture narrow = grey;
  narrow.bits_stored = 10;
  const auto highest = *std::max_element(grey.frames[0].begin(), grey.frames[0].end());
  cases.push_back({"bits stored", narrow, grey_codestream,
                   "the JPEG 2000 samples range from 0 to " + std::to_string(highest) +
                       ", which does not fit Bits Stored 10 (unsigned)"});
  Picture no_transform = picture(3, 8, false);
  no_transform.photometric = "YBR_ICT";
  cases.push_back({"YBR_ICT without MCT", no_transform, j2k_codestream(no_transform),
                   "Photometric Interpretation YBR_ICT requires a multiple component transform"});
  cases.push_back({"truncated", grey, grey_codestream.substr(0, grey_codestream.size() / 3),
                   "the JPEG 2000 codestream does not decode"});
  cases.push_back({"not a codestream", grey, std::string(200, 'x'),
                   "the JPEG 2000 codestream has no valid header"});
  for (const Case& c : cases) {
    INFO(c.name);
    const std::string path = (dir / "bad.dcm").string();
    wfctl::test::write_bytes(path, j2k_file(c.declared, {c.codestream}));
    const std::string message =
        error_of(ErrorKind::invalid_input, [&] { dicom::render_png_bytes(path, {}); });
    CHECK_THAT(message, Catch::StartsWith(path + ": " + c.why));
    CHECK_NOTHROW(dicom::read_summary(path));  // info still works
  }
  CHECK(wfctl::test::files_below(dir.path()) ==
        std::vector<std::filesystem::path>{dir / "bad.dcm"});
}

TEST_CASE("frames that cannot be told apart are refused", "[dicom][j2k]") {
  TempDir dir;
  const Picture p = picture(1, 8, false, 2);
  const auto codestreams = j2k_codestreams(p);
  // Two frames joined and cut into three fragments, no offset table: the second frame's
  // codestream starts inside a fragment, where nothing looks for it.
  const std::string path = (dir / "ambiguous.dcm").string();
  wfctl::test::write_bytes(path, j2k_file(p, {codestreams[0] + codestreams[1]},
                                          wfctl::test::k_j2k_lossless, {false, 3}));
  CHECK(error_of(ErrorKind::invalid_input, [&] { render(path, 1); }) ==
        path +
            ": cannot find the JPEG 2000 frames: 3 fragments, 1 of them starting a codestream, "
            "for 2 frames, and no usable Basic Offset Table");
}
