// wfctl::dicom reading, validation, DICOM JSON and rendering, on pydicom's sample files.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <set>
#include <wfctl/dicom/dicom.hpp>
#include <wfctl/error.hpp>

#include "dicom_fixtures.hpp"
#include "expect_error.hpp"
#include "temp_dir.hpp"

namespace dicom = wfctl::dicom;
using wfctl::ErrorKind;
using wfctl::test::error_of;
using wfctl::test::pydicom_file;
using wfctl::test::TempDir;

TEST_CASE("read_summary reads MR_small's key attributes", "[dicom]") {
  const dicom::Summary s = dicom::read_summary(pydicom_file("MR_small.dcm"));
  CHECK(s.patient_id == "4MR1");
  CHECK(s.patient_name == "CompressedSamples^MR1");
  CHECK(s.study_instance_uid == "1.3.6.1.4.1.5962.1.2.4.20040826185059.5457");
  CHECK(s.series_instance_uid == "1.3.6.1.4.1.5962.1.3.4.1.20040826185059.5457");
  CHECK(s.sop_instance_uid == "1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457");
  CHECK(s.sop_class_uid == "1.2.840.10008.5.1.4.1.1.4");
  CHECK(s.modality == "MR");
  CHECK(s.study_date == "20040826");
  CHECK(s.series_description.empty());
  CHECK(s.rows == 64);
  CHECK(s.columns == 64);
  CHECK(s.number_of_frames == 1);
  CHECK(s.transfer_syntax_uid == "1.2.840.10008.1.2.1");
  CHECK(s.transfer_syntax_name == "Little Endian Explicit");
}

TEST_CASE("read_summary reads CT_small", "[dicom]") {
  const dicom::Summary s = dicom::read_summary(pydicom_file("CT_small.dcm"));
  CHECK(s.patient_id == "1CT1");
  CHECK(s.patient_name == "CompressedSamples^CT1");
  CHECK(s.sop_instance_uid == "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322");
  CHECK(s.sop_class_uid == "1.2.840.10008.5.1.4.1.1.2");
  CHECK(s.modality == "CT");
  CHECK(s.study_date == "20040119");
  CHECK(s.rows == 128);
  CHECK(s.columns == 128);
}

TEST_CASE("read_summary reads every transfer syntax DCMTK can parse", "[dicom]") {
  struct Case {
    const char* file;
    const char* syntax;
    long rows, columns, frames;
  };
  const Case cases[] = {
      {"MR_small_bigendian.dcm", "1.2.840.10008.1.2.2", 64, 64, 1},
      {"MR_small_implicit.dcm", "1.2.840.10008.1.2", 64, 64, 1},
      {"image_dfl.dcm", "1.2.840.10008.1.2.1.99", 512, 512, 1},
      {"MR_small_RLE.dcm", "1.2.840.10008.1.2.5", 64, 64, 1},
      {"MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80", 64, 64, 1},
      {"JPEG-lossy.dcm", "1.2.840.10008.1.2.4.51", 1024, 256, 1},
      {"SC_rgb_jpeg_dcmtk.dcm", "1.2.840.10008.1.2.4.50", 100, 100, 1},
      {"SC_rgb_jpeg_gdcm.dcm", "1.2.840.10008.1.2.4.70", 100, 100, 1},
      {"SC_rgb_rle_2frame.dcm", "1.2.840.10008.1.2.5", 100, 100, 2},
      {"rtdose.dcm", "1.2.840.10008.1.2", 10, 10, 15},
      {"JPEG2000.dcm", "1.2.840.10008.1.2.4.91", 1024, 256, 1},
      {"MR_small_jp2klossless.dcm", "1.2.840.10008.1.2.4.90", 64, 64, 1},
  };
  for (const Case& c : cases) {
    INFO(c.file);
    const dicom::Summary s = dicom::read_summary(pydicom_file(c.file));
    CHECK(s.transfer_syntax_uid == c.syntax);
    CHECK(s.rows == c.rows);
    CHECK(s.columns == c.columns);
    CHECK(s.number_of_frames == c.frames);
    CHECK_FALSE(s.transfer_syntax_name.empty());
  }
}

TEST_CASE("read_summary reads bare data sets without a meta header", "[dicom]") {
  for (const char* file : {"ExplVR_LitEndNoMeta.dcm", "ExplVR_BigEndNoMeta.dcm", "rtstruct.dcm"}) {
    INFO(file);
    const dicom::Summary s = dicom::read_summary(pydicom_file(file));
    CHECK_FALSE(s.sop_instance_uid.empty());
    CHECK_FALSE(s.modality.empty());
  }
}

TEST_CASE("to_json lists the summary keys in the documented order", "[dicom]") {
  const wfctl::Json j = dicom::to_json(dicom::read_summary(pydicom_file("MR_small.dcm")));
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  CHECK(keys == std::vector<std::string>{
                    "PatientID", "PatientName", "StudyInstanceUID", "SeriesInstanceUID",
                    "SOPInstanceUID", "SOPClassUID", "Modality", "StudyDate", "SeriesDescription",
                    "Rows", "Columns", "NumberOfFrames", "TransferSyntaxUID", "TransferSyntax"});
  CHECK(j["Rows"] == 64);
  CHECK(j["Modality"] == "MR");
}

TEST_CASE("truncated files are rejected as truncated", "[dicom]") {
  TempDir dir;
  const std::string mr = wfctl::test::read_bytes(pydicom_file("MR_small.dcm"));
  const std::string ct = wfctl::test::read_bytes(pydicom_file("CT_small.dcm"));
  wfctl::test::write_bytes(dir / "mr_cut.dcm", mr.substr(0, mr.size() - 100));
  wfctl::test::write_bytes(dir / "ct_cut.dcm", ct.substr(0, 2000));
  for (const std::string& path :
       {pydicom_file("MR_truncated.dcm"), pydicom_file("rtplan_truncated.dcm"),
        (dir / "mr_cut.dcm").string(), (dir / "ct_cut.dcm").string()}) {
    INFO(path);
    const std::string message = error_of(ErrorKind::invalid_input, [&] { dicom::validate(path); });
    CHECK_THAT(message, Catch::StartsWith(path + ": truncated"));
    error_of(ErrorKind::invalid_input, [&] { dicom::read_summary(path); });
  }
}

TEST_CASE("files that are not DICOM are rejected", "[dicom]") {
  TempDir dir;
  wfctl::test::write_bytes(dir / "empty.dcm", "");
  wfctl::test::write_bytes(dir / "text.dcm", "hello, this is not a DICOM file\n");
  wfctl::test::write_bytes(dir / "dicm.dcm", std::string(128, '\0') + "DICM");
  wfctl::test::write_bytes(dir / "zeros.dcm", std::string(4096, '\0'));
  std::string binary;
  for (int i = 0; i < 5000; ++i) binary.push_back(static_cast<char>((i * 7919) % 251));
  wfctl::test::write_bytes(dir / "binary.dcm", binary);
  for (const char* name : {"empty.dcm", "text.dcm", "dicm.dcm", "zeros.dcm", "binary.dcm"}) {
    const std::string path = (dir / name).string();
    INFO(path);
    const std::string message = error_of(ErrorKind::invalid_input, [&] { dicom::validate(path); });
    CHECK_THAT(message, Catch::StartsWith(path + ": "));
    CHECK_THAT(message, Catch::Contains("not a DICOM file") || Catch::Contains("truncated"));
  }
  CHECK_THAT(
      error_of(ErrorKind::invalid_input, [&] { dicom::validate((dir / "empty.dcm").string()); }),
      Catch::Contains("empty"));
  CHECK_THAT(
      error_of(ErrorKind::invalid_input, [&] { dicom::validate((dir / "text.dcm").string()); }),
      Catch::Contains("not a DICOM file"));
  error_of(ErrorKind::usage, [&] { dicom::validate(dir.path().string()); });  // the errno table's EISDIR
  error_of(ErrorKind::not_found, [&] { dicom::validate((dir / "missing.dcm").string()); });
}

TEST_CASE("validate accepts complete files", "[dicom]") {
  for (const char* file : {"MR_small.dcm", "CT_small.dcm", "JPEG2000.dcm", "priv_SQ.dcm",
                           "rtplan.dcm", "waveform_ecg.dcm"}) {
    INFO(file);
    CHECK_NOTHROW(dicom::validate(pydicom_file(file)));
  }
}

TEST_CASE("to_dicom_json gives the PS3.18 Annex F model of the data set", "[dicom]") {
  const wfctl::Json j = dicom::to_dicom_json(pydicom_file("MR_small.dcm"));
  REQUIRE(j.is_object());
  CHECK(j["00100010"]["vr"] == "PN");
  CHECK(j["00100010"]["Value"][0]["Alphabetic"] == "CompressedSamples^MR1");
  CHECK(j["00100020"]["vr"] == "LO");
  CHECK(j["00100020"]["Value"][0] == "4MR1");
  CHECK(j["00280010"]["vr"] == "US");
  CHECK(j["00280010"]["Value"][0] == 64);
  CHECK(j["00080016"]["Value"][0] == "1.2.840.10008.5.1.4.1.1.4");
  CHECK(j["7FE00010"].contains("InlineBinary"));
  for (const auto& item : j.items()) CHECK_FALSE(item.key().starts_with("0002"));

  // Sequences nest as arrays of objects.
  const wfctl::Json ct = dicom::to_dicom_json(pydicom_file("CT_small.dcm"));
  CHECK(ct["00101002"]["vr"] == "SQ");
  CHECK(ct["00101002"]["Value"].size() == 2);
  CHECK(ct["00101002"]["Value"][0]["00100020"]["Value"][0] == "ABCD1234");
}

TEST_CASE("render_png_bytes renders every transfer syntax DCMTK decodes", "[dicom]") {
  struct Case {
    const char* file;
    int colour_type;  // PNG: 0 grey, 2 RGB
  };
  const Case cases[] = {
      {"MR_small.dcm", 0},
      {"CT_small.dcm", 0},
      {"MR_small_bigendian.dcm", 0},
      {"MR_small_implicit.dcm", 0},
      {"image_dfl.dcm", 0},
      {"MR_small_RLE.dcm", 0},
      {"MR_small_jpeg_ls_lossless.dcm", 0},
      {"JPEG-lossy.dcm", 0},
      {"JPGExtended.dcm", 0},
      {"rtdose.dcm", 0},
      {"rtdose_rle.dcm", 0},
      {"SC_rgb_jpeg_dcmtk.dcm", 2},
      {"SC_rgb_dcmtk_+eb+cy+np.dcm", 2},
      {"SC_rgb_jpeg_gdcm.dcm", 2},
      {"SC_rgb_rle.dcm", 2},
      {"SC_rgb_rle_16bit.dcm", 2},
      {"SC_rgb_small_odd.dcm", 2},
      {"SC_ybr_full_422_uncompressed.dcm", 2},
      {"ExplVR_BigEnd.dcm", 2},
  };
  for (const Case& c : cases) {
    INFO(c.file);
    const std::string path = pydicom_file(c.file);
    const dicom::Summary s = dicom::read_summary(path);
    const wfctl::test::Png png = wfctl::test::decode_png(dicom::render_png_bytes(path, {}));
    CHECK(png.width == static_cast<std::uint32_t>(s.columns));
    CHECK(png.height == static_cast<std::uint32_t>(s.rows));
    CHECK(png.colour_type == c.colour_type);
    CHECK_FALSE(png.constant());
  }
}

TEST_CASE("render_png applies a given window instead of min-max", "[dicom]") {
  const std::string path = pydicom_file("CT_small.dcm");
  const std::string minmax = dicom::render_png_bytes(path, {});
  dicom::RenderOptions narrow;
  narrow.window = std::make_pair(40.0, 400.0);
  const std::string windowed = dicom::render_png_bytes(path, narrow);
  CHECK(windowed != minmax);
  CHECK_FALSE(wfctl::test::decode_png(windowed).constant());
  dicom::RenderOptions bad;
  bad.window = std::make_pair(40.0, 0.0);
  error_of(ErrorKind::usage, [&] { dicom::render_png_bytes(path, bad); });
}

TEST_CASE("render_png selects frames and rejects frames out of range", "[dicom]") {
  const std::string path = pydicom_file("SC_rgb_rle_2frame.dcm");
  dicom::RenderOptions second;
  second.frame = 1;
  const wfctl::test::Png png = wfctl::test::decode_png(dicom::render_png_bytes(path, second));
  CHECK(png.width == 100);
  CHECK_FALSE(png.constant());
  CHECK(dicom::render_png_bytes(path, second) != dicom::render_png_bytes(path, {}));

  dicom::RenderOptions third;
  third.frame = 2;
  CHECK(error_of(ErrorKind::invalid_input, [&] { dicom::render_png_bytes(path, third); }) ==
        path + ": frame 2 out of range: the image has 2 frames");
  third.frame = 1;
  CHECK_THAT(error_of(ErrorKind::invalid_input,
                      [&] { dicom::render_png_bytes(pydicom_file("MR_small.dcm"), third); }),
             Catch::EndsWith("frame 1 out of range: the image has 1 frame"));
}

TEST_CASE("every pydicom test file with pixel data renders", "[dicom][j2k]") {
  // Each file that shows no picture, and why. Every entry is checked to be refused for that
  // reason, so a file that starts rendering (or fails differently) shows up here.
  const std::map<std::string, std::string> refused = {
      // Not DICOM at all: text, JSON, dumps, a gzip file.
      {"README.txt", "not a DICOM file"},
      {"dicomdirtests/README.txt", "not a DICOM file"},
      {"dicomdirtests/TINY_ALPHA/README", "not a DICOM file"},
      {"test1.json", "not a DICOM file"},
      {"test_PN.json", "not a DICOM file"},
      {"rtplan.dump", "not a DICOM file"},
      {"rtstruct.dump", "not a DICOM file"},
      {"zipMR.gz", "not a DICOM file"},
      // Cut short on purpose (pydicom tests its errors on them).
      {"MR_truncated.dcm", "truncated"},
      {"rtplan_truncated.dcm", "truncated"},
      // The meta header says explicit VR, the data set is implicit VR: DCMTK reads an element
      // length from the wrong bytes and runs past the end of the file.
      {"SC_rgb_jpeg.dcm", "truncated"},
      // No meta header, and a stray byte (0x20) before the first element.
      {"no_meta.dcm", "not a DICOM file"},
      // Pixel Data without Rows, Columns or any other attribute that describes an image.
      {"meta_missing_tsyntax.dcm", "cannot render the image: Missing attribute"},
      {"nested_priv_SQ.dcm", "cannot render the image: Missing attribute"},
      // Four bytes of the codestream's SIZ marker overwritten with a sequence delimiter, on
      // purpose: the codestream claims billions of tiles.
      {"JPEG2000-embedded-sequence-delimiter.dcm", "the JPEG 2000 codestream has no valid header"},
  };
  const std::filesystem::path root = pydicom_file("");
  std::set<std::string> seen_refused;
  std::size_t rendered = 0, without_pixels = 0;
  for (const auto& file : wfctl::test::files_below(root)) {
    const std::string name = std::filesystem::relative(file, root).string();
    const std::string path = file.string();
    INFO(name);
    try {
      const wfctl::test::Png png = wfctl::test::decode_png(dicom::render_png_bytes(path, {}));
      const dicom::Summary s = dicom::read_summary(path);
      CHECK(png.width == static_cast<std::uint32_t>(s.columns));
      CHECK(png.height == static_cast<std::uint32_t>(s.rows));
      CHECK(refused.count(name) == 0);
      ++rendered;
    } catch (const wfctl::Error& e) {
      const std::string message = e.what();
      INFO(message);
      CHECK(e.kind() == ErrorKind::invalid_input);
      if (message.find("has no pixel data") != std::string::npos) {
        // Asked another way: the DICOM JSON model has no Pixel Data either.
        CHECK_FALSE(dicom::to_dicom_json(path).contains("7FE00010"));
        ++without_pixels;
        continue;
      }
      const auto expected = refused.find(name);
      REQUIRE(expected != refused.end());
      CHECK_THAT(message, Catch::StartsWith(path + ": ") && Catch::Contains(expected->second));
      seen_refused.insert(name);
    }
  }
  for (const auto& [name, why] : refused) {
    INFO(name);
    CHECK(seen_refused.count(name) == 1);
  }
  CHECK(rendered > 0);
  CHECK(without_pixels > 0);
}

TEST_CASE("render_png refuses files without pixel data", "[dicom]") {
  CHECK_THAT(error_of(ErrorKind::invalid_input,
                      [&] { dicom::render_png_bytes(pydicom_file("rtplan.dcm"), {}); }),
             Catch::Contains("no pixel data"));
}
