// wfctl::dicom on hostile input: nesting past the limit, attributes that arrived as UN, huge
// sequences, pixel data that does not match its attributes. The small inputs are kept in
// tests/hostile/dicom (written by hostile.py there); the large ones are built here.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <wfctl/dicom/dicom.hpp>
#include <wfctl/error.hpp>

#include "dicom_fixtures.hpp"
#include "dicom_hostile.hpp"
#include "expect_error.hpp"
#include "temp_dir.hpp"

namespace dicom = wfctl::dicom;
namespace hostile = wfctl::test::hostile;
using wfctl::ErrorKind;
using wfctl::test::error_of;
using wfctl::test::files_below;
using wfctl::test::read_bytes;
using wfctl::test::TempDir;
using wfctl::test::write_bytes;

namespace {

const std::string k_explicit_le = "1.2.840.10008.1.2.1";
const std::string k_implicit_le = "1.2.840.10008.1.2";
const std::string k_explicit_be = "1.2.840.10008.1.2.2";

std::string kept(const std::string& name) { return (hostile::inputs() / name).string(); }

// The file with its data set deflated (raw deflate, PS3.5 A.5), as 1.2.840.10008.1.2.1.99.
std::string deflated(const std::string& file) {
  const std::size_t meta_end = file.find(k_explicit_le) + k_explicit_le.size() + 1;  // even length
  std::string out = file.substr(0, meta_end);
  const std::string syntax = "1.2.840.10008.1.2.1.99";
  // The Transfer Syntax UID is the meta group's last element: rewrite it and the group length.
  const std::size_t uid_at = out.find(k_explicit_le);
  out.replace(uid_at - 2, 2 + k_explicit_le.size() + 1, hostile::Encoding{}.u16(22) + syntax);
  const std::uint32_t group_length = static_cast<std::uint32_t>(out.size() - 144);
  out.replace(140, 4, hostile::Encoding{}.u32(group_length));
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string packed(compressBound(static_cast<uLong>(file.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(file.data() + meta_end));
  z.avail_in = static_cast<uInt>(file.size() - meta_end);
  z.next_out = reinterpret_cast<Bytef*>(packed.data());
  z.avail_out = static_cast<uInt>(packed.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  packed.resize(z.total_out);
  deflateEnd(&z);
  return out + packed;
}

}  // namespace

TEST_CASE("files nested deeper than the limit are refused by every entry point",
          "[dicom][hostile]") {
  STATIC_REQUIRE(dicom::k_max_sequence_depth == 128);
  TempDir dir;
  struct Case {
    const char* name;
    std::string bytes;
  };
  // 6 000 levels took DCMTK's reader (and so every command) down with SIGSEGV.
  const Case cases[] = {
      {"explicit_le.dcm", hostile::deep_nesting(6000, k_explicit_le, false)},
      {"implicit_le.dcm", hostile::deep_nesting(6000, k_implicit_le, false)},
      {"explicit_be.dcm", hostile::deep_nesting(6000, k_explicit_be, false)},
      {"defined_lengths.dcm", hostile::deep_nesting(6000, k_explicit_le, true)},
      {"deflated.dcm", deflated(hostile::deep_nesting(6000, k_explicit_le, false))},
      {"kept_200.dcm", read_bytes(kept("deep_nesting_200.dcm"))},
  };
  for (const Case& c : cases) {
    const std::string path = (dir / c.name).string();
    write_bytes(path, c.bytes);
  }
  for (const Case& c : cases) {
    const std::string path = (dir / c.name).string();
    INFO(path);
    const std::string refused = path + ": sequences nested more than 128 levels deep";
    CHECK_THAT(error_of(ErrorKind::invalid_input, [&] { dicom::validate(path); }),
               Catch::StartsWith(refused));
    CHECK_THAT(error_of(ErrorKind::invalid_input, [&] { dicom::read_summary(path); }),
               Catch::StartsWith(refused));
    CHECK_THAT(error_of(ErrorKind::invalid_input, [&] { dicom::to_dicom_json(path); }),
               Catch::StartsWith(refused));
    CHECK_THAT(error_of(ErrorKind::invalid_input, [&] { dicom::render_png_bytes(path, {}); }),
               Catch::StartsWith(refused));
    for (const bool anonymize : {false, true}) {
      CHECK_THAT(
          error_of(ErrorKind::invalid_input,
                   [&] {
                     dicom::export_tree({{path, "record 7"}}, (dir / "export").string(), anonymize);
                   }),
          Catch::StartsWith("record 7: sequences nested more than 128 levels deep"));
    }
  }
  CHECK(files_below(dir.path()).size() == std::size(cases));  // no export, no temporary file
  CHECK_FALSE(std::filesystem::exists(dir / "export"));
}

TEST_CASE("128 levels of sequences are read, converted and anonymized, and 129 are not",
          "[dicom][hostile]") {
  TempDir dir;
  for (const bool defined : {false, true}) {
    INFO(defined);
    const std::string ok = (dir / "128.dcm").string(), deep = (dir / "129.dcm").string();
    write_bytes(ok, hostile::deep_nesting(128, k_explicit_le, defined));
    write_bytes(deep, hostile::deep_nesting(129, k_explicit_le, defined));
    CHECK(dicom::read_summary(ok).sop_instance_uid == "1.2.3.4");
    wfctl::Json level = dicom::to_dicom_json(ok);
    unsigned depth = 0;
    while (level.contains("0040A730")) {
      level = level["0040A730"]["Value"][0];
      ++depth;
    }
    CHECK(depth == 128);
    CHECK(level["0040A040"]["Value"][0] == "TEXT");
    const auto written = dicom::export_tree({{ok, "ok"}}, (dir / "export").string(), true);
    REQUIRE(written.size() == 1);
    CHECK_NOTHROW(dicom::validate(written[0].path));
    CHECK_THAT(error_of(ErrorKind::invalid_input, [&] { dicom::validate(deep); }),
               Catch::Contains("nested more than 128 levels deep (level 129 starts at byte"));
    std::filesystem::remove_all(dir / "export");
  }
  CHECK_NOTHROW(dicom::validate(kept("deep_nesting_128.dcm")));
}

TEST_CASE("UN attributes are read and anonymized by their tag", "[dicom][hostile]") {
  // What a round trip through a system without the right dictionary leaves: instance UIDs,
  // Patient Name and Birth Date as UN, and a whole sequence as UN (implicit VR inside).
  const std::string source = kept("un_uids.dcm");
  const dicom::Summary s = dicom::read_summary(source);
  CHECK(s.sop_instance_uid == "5.5.5.5.1");
  CHECK(s.study_instance_uid == "5.5.5.5.2");
  CHECK(s.series_instance_uid == "5.5.5.5.3");
  CHECK(s.patient_name == "Secret^Name");

  TempDir dir;
  const auto written = dicom::export_tree({{source, "record 1"}}, (dir / "export").string(), true);
  REQUIRE(written.size() == 1);
  const std::string path = written[0].path;
  const std::string bytes = read_bytes(path);
  for (const char* original : {"5.5.5.5", "Secret", "SECRET", "19700101"}) {
    INFO(original);
    CHECK(bytes.find(original) == std::string::npos);
    CHECK(path.find(original) == std::string::npos);
  }
  CHECK(path.find("35_2e") == std::string::npos);  // a UID shown as hex bytes
  const dicom::Summary out = dicom::read_summary(path);
  CHECK_THAT(out.sop_instance_uid, Catch::StartsWith("2.25."));
  CHECK_THAT(out.study_instance_uid, Catch::StartsWith("2.25."));
  CHECK_THAT(out.series_instance_uid, Catch::StartsWith("2.25."));
  CHECK_THAT(out.patient_name, Catch::StartsWith("ANON-"));
  CHECK(path == (dir / "export" / out.patient_id / out.study_instance_uid /
                 out.series_instance_uid / (out.sop_instance_uid + ".dcm"))
                    .string());
  const wfctl::Json j = dicom::to_dicom_json(path);
  CHECK(j["00080018"]["vr"] == "UI");
  CHECK(j["00200052"]["vr"] == "UI");
  CHECK_THAT(j["00200052"]["Value"][0].get<std::string>(), Catch::StartsWith("2.25."));
  CHECK(j["00100030"]["vr"] == "DA");  // Z: emptied, with its real VR
  CHECK_FALSE(j["00100030"].contains("Value"));
  // The UN sequence was parsed and cleaned like any other, its UIDs replaced consistently.
  REQUIRE(j["00081115"]["vr"] == "SQ");
  const wfctl::Json referenced = j["00081115"]["Value"][0];
  CHECK(referenced["0020000E"]["Value"][0] == out.series_instance_uid);
  CHECK_THAT(referenced["00081155"]["Value"][0].get<std::string>(), Catch::StartsWith("2.25."));
  CHECK_THAT(j["00081140"]["Value"][0]["00081155"]["Value"][0].get<std::string>(),
             Catch::StartsWith("2.25."));
}

TEST_CASE("anonymizing 300 000 sequence items replaces every UID in them", "[dicom][hostile]") {
  // Before: quadratic in the items (209 s for these). No timing is asserted here.
  TempDir dir;
  const std::string source = (dir / "items.dcm").string();
  write_bytes(source, hostile::many_items(300000));
  const auto written = dicom::export_tree({{source, "record 1"}}, (dir / "export").string(), true);
  REQUIRE(written.size() == 1);
  const std::string bytes = read_bytes(written[0].path);
  CHECK(bytes.find("1.2.3.4.5.") == std::string::npos);
  const wfctl::Json j = dicom::to_dicom_json(written[0].path);
  REQUIRE(j["00081140"]["Value"].size() == 300000);
  CHECK(j["00081140"]["Value"][0]["00081155"]["Value"][0] !=
        j["00081140"]["Value"][299999]["00081155"]["Value"][0]);
}

TEST_CASE("pixel data that does not match its attributes is refused before rendering",
          "[dicom][hostile]") {
  struct Case {
    const char* file;
    const char* why;
  };
  const Case cases[] = {
      {"short_pixels.dcm",
       "invalid pixel data: 512 rows x 512 columns x 1 sample x 16 bits x 1 frame need 524288 "
       "bytes, the pixel "
       "data has 2"},
      // DCMTK rendered this one from uninitialised memory.
      {"short_pixels_1bit.dcm",
       "512 rows x 512 columns x 1 sample x 1 bits x 1 frame need 32768 bytes"},
      {"huge_dimensions.dcm",
       "65535 rows x 65535 columns x 1 sample x 16 bits x 2147483647 frames need"},
      {"few_fragments.dcm",
       "invalid pixel data: 3 frames but 1 fragment of encapsulated pixel data"},
      {"undefined_length_native.dcm",
       "invalid pixel data: encapsulated (fragments of undefined length) although"},
      // These rendered as one flat black picture (exit 0).
      {"rescale_nan.dcm",
       "Rescale Slope nan and Rescale Intercept 0 do not map the stored values to finite"},
      {"rescale_1e308.dcm", "Rescale Slope 1e308 and Rescale Intercept 0 do not map"},
  };
  for (const Case& c : cases) {
    const std::string path = kept(c.file);
    INFO(path);
    CHECK_THAT(error_of(ErrorKind::invalid_input, [&] { dicom::render_png_bytes(path, {}); }),
               Catch::StartsWith(path + ": ") && Catch::Contains(c.why));
  }
}

TEST_CASE("pixel data in fragments under a native transfer syntax cannot be re-encoded",
          "[dicom][hostile]") {
  // `export --anonymize` said "internal error" (exit 1) here, depending on a leftover errno.
  TempDir dir;
  const std::string path = kept("undefined_length_native.dcm");
  CHECK_THAT(error_of(ErrorKind::invalid_input,
                      [&] {
                        dicom::export_tree({{path, "record 3"}}, (dir / "export").string(), true);
                      }),
             Catch::StartsWith("record 3: cannot be re-encoded: its pixel data is in fragments"));
  CHECK_FALSE(std::filesystem::exists(dir / "export"));
  // Copied as it is, it needs no re-encoding.
  CHECK(dicom::export_tree({{path, "record 3"}}, (dir / "export").string(), false).size() == 1);
}

TEST_CASE("encapsulated pixel data of 200 000 fragments is read in linear time",
          "[dicom][hostile]") {
  // Fragments were fetched with getItem(i), a walk from the first one each: quadratic.
  const hostile::Encoding enc;
  std::string fragments = enc.item({}, false);  // empty Basic Offset Table
  for (int i = 0; i < 200000; ++i) fragments += enc.item(std::string("\xFF\x4F", 2), false);
  const std::string attributes = enc.element(0x0028, 0x0002, "US", enc.u16(1)) +
                                 enc.element(0x0028, 0x0004, "CS", "MONOCHROME2") +
                                 enc.element(0x0028, 0x0010, "US", enc.u16(16)) +
                                 enc.element(0x0028, 0x0011, "US", enc.u16(16)) +
                                 enc.element(0x0028, 0x0100, "US", enc.u16(8)) +
                                 enc.element(0x0028, 0x0101, "US", enc.u16(8)) +
                                 enc.element(0x0028, 0x0102, "US", enc.u16(7)) +
                                 enc.element(0x0028, 0x0103, "US", enc.u16(0));
  TempDir dir;
  const std::string path = (dir / "fragments.dcm").string();
  write_bytes(path, hostile::part10(
                        hostile::identity(enc) + attributes +
                            enc.element(0x7FE0, 0x0010, "OB", fragments + enc.sequence_end(), true),
                        "1.2.840.10008.1.2.4.90"));
  CHECK_THAT(error_of(ErrorKind::invalid_input, [&] { dicom::render_png_bytes(path, {}); }),
             Catch::StartsWith(path + ": ") && Catch::Contains("JPEG 2000"));
}

TEST_CASE("data sets far out of tag order are refused before DCMTK sorts them",
          "[dicom][hostile]") {
  // DCMTK sorts each element into a list as it reads it: 100 000 elements in descending
  // order (1.2 MB) took a minute, ten times as many an hour and a half.
  const hostile::Encoding enc;
  std::string descending;
  unsigned n = 0;
  for (unsigned group = 0x7FDE; group > 0x0100 && n < 100000; group -= 2) {
    for (unsigned element = 0xFF00; element > 0 && n < 100000; element -= 0x1000, ++n) {
      descending += enc.element(static_cast<std::uint16_t>(group),
                                static_cast<std::uint16_t>(element), "LO", "ab");
    }
  }
  TempDir dir;
  const std::string path = (dir / "descending.dcm").string();
  write_bytes(path, hostile::part10(hostile::identity(enc) + descending, k_explicit_le));
  CHECK_THAT(error_of(ErrorKind::invalid_input, [&] { dicom::validate(path); }),
             Catch::StartsWith(path + ": too many elements out of ascending tag order"));
  // A few elements out of place are read as before.
  const std::string few = (dir / "few.dcm").string();
  write_bytes(
      few, hostile::part10(hostile::identity(enc) + descending.substr(0, 20 * 12), k_explicit_le));
  CHECK(dicom::read_summary(few).sop_instance_uid == "1.2.3.4");
}
