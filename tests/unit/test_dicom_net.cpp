// wfctl::dicom peers, C-ECHO and C-STORE against DCMTK's real storescp on loopback.
#include <catch2/catch.hpp>
#include <chrono>
#include <wfctl/dicom/dicom.hpp>
#include <wfctl/error.hpp>

#include "dicom_fixtures.hpp"
#include "expect_error.hpp"
#include "temp_dir.hpp"

namespace dicom = wfctl::dicom;
namespace fs = std::filesystem;
using wfctl::ErrorKind;
using wfctl::test::error_of;
using wfctl::test::pydicom_file;
using wfctl::test::StoreScp;
using wfctl::test::TempDir;

namespace {

dicom::Peer local(const std::string& aet, int port) { return {aet, "127.0.0.1", port}; }

// storescp names each file "<modality>.<SOP Instance UID>".
fs::path received(const fs::path& dir, const std::string& sop_instance_uid) {
  for (const auto& f : wfctl::test::files_below(dir)) {
    if (f.filename().string().ends_with("." + sop_instance_uid)) return f;
  }
  FAIL("storescp did not store " << sop_instance_uid);
  return {};
}

// storescp drops Data Set Trailing Padding (FFFC,FFFC), which carries no content.
wfctl::Json without_padding(wfctl::Json j) {
  j.erase("FFFCFFFC");
  return j;
}

wfctl::Json without_pixel_data(wfctl::Json j) {
  j.erase("7FE00010");
  return without_padding(j);
}

struct Elapsed {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
};

}  // namespace

TEST_CASE("parse_peer accepts AET@HOST:PORT", "[dicom]") {
  dicom::Peer p = dicom::parse_peer("PACS@pacs.example.org:11112");
  CHECK(p.aet == "PACS");
  CHECK(p.host == "pacs.example.org");
  CHECK(p.port == 11112);
  p = dicom::parse_peer("STORE SCP@10.0.0.7");
  CHECK(p.aet == "STORE SCP");
  CHECK(p.host == "10.0.0.7");
  CHECK(p.port == 104);
  p = dicom::parse_peer("SIXTEEN_CHARS_AE@h:65535");
  CHECK(p.aet == "SIXTEEN_CHARS_AE");
  CHECK(p.port == 65535);
}

TEST_CASE("parse_peer rejects malformed peers as usage errors", "[dicom]") {
  for (const char* text :
       {"", "PACS", "@host:104", "SEVENTEEN_CHARS_A@h:104", "PA\\CS@h:104", "PA\tCS@h:104",
        "   @h:104", "PACS@:104", "PACS@", "PACS@h:", "PACS@h:0", "PACS@h:65536", "PACS@h:-1",
        "PACS@h:10x", "PACS@h:port", "PACS@::1:104", "PACS@[::1", "PACS@[::1]x", "A@[::1]:4242", "PACS@h h:104"}) {
    INFO(text);
    const std::string message = error_of(ErrorKind::usage, [&] { dicom::parse_peer(text); });
    CHECK_FALSE(message.empty());
  }
}

TEST_CASE("echo succeeds against storescp and fails fast on a closed port", "[dicom][net]") {
  TempDir dir;
  fs::create_directory(dir / "in");
  StoreScp scp(dir / "in", "STORESCP");
  CHECK_NOTHROW(dicom::echo(local("STORESCP", scp.port()), "WFCTL", 5));

  const int closed = wfctl::test::free_port();
  Elapsed elapsed;
  const std::string message =
      error_of(ErrorKind::unavailable, [&] { dicom::echo(local("STORESCP", closed), "WFCTL", 5); });
  CHECK(elapsed.seconds() < 3);
  CHECK_THAT(message,
             Catch::StartsWith("cannot connect to STORESCP@127.0.0.1:" + std::to_string(closed)));
  error_of(ErrorKind::usage, [&] { dicom::echo(local("STORESCP", scp.port()), "", 5); });
}

TEST_CASE("a peer that refuses the association is unavailable", "[dicom][net]") {
  TempDir dir;
  fs::create_directory(dir / "in");
  // storescp does not check the called AE title itself; --refuse makes it reject every
  // association, as a PACS does for an AE title it does not know.
  StoreScp scp(dir / "in", "STORESCP", {"--refuse"});
  CHECK_THAT(error_of(ErrorKind::unavailable,
                      [&] { dicom::echo(local("WRONG", scp.port()), "WFCTL", 5); }),
             Catch::Contains("rejected the association"));
  CHECK_THAT(error_of(ErrorKind::unavailable,
                      [&] {
                        dicom::send({{pydicom_file("MR_small.dcm"), "mr"}},
                                    local("WRONG", scp.port()), "WFCTL", 5);
                      }),
             Catch::Contains("rejected the association"));
}

TEST_CASE("a peer that never answers times out as unavailable", "[dicom][net]") {
  wfctl::test::SilentListener silent;
  Elapsed elapsed;
  const std::string message = error_of(
      ErrorKind::unavailable, [&] { dicom::echo(local("SILENT", silent.port()), "WFCTL", 1); });
  CHECK(elapsed.seconds() < 5);
  CHECK_THAT(message, Catch::Contains("SILENT@127.0.0.1:" + std::to_string(silent.port())));
}

TEST_CASE("send stores files that arrive equal, decompressing for an uncompressed-only peer",
          "[dicom][net]") {
  TempDir dir;
  fs::create_directory(dir / "in");
  StoreScp scp(dir / "in", "STORESCP");  // accepts uncompressed transfer syntaxes only
  const std::vector<dicom::ExportSource> sources = {
      {pydicom_file("MR_small.dcm"), "record 1"},   {pydicom_file("CT_small.dcm"), "record 2"},
      {pydicom_file("SC_rgb_rle.dcm"), "record 3"}, {pydicom_file("JPEG-lossy.dcm"), "record 4"},
      {pydicom_file("image_dfl.dcm"), "record 5"},  // deflated: storescp accepts it inflated
  };
  const auto statuses = dicom::send(sources, local("STORESCP", scp.port()), "WFCTL", 10);
  REQUIRE(statuses.size() == sources.size());
  for (std::size_t i = 0; i < sources.size(); ++i) {
    INFO(sources[i].path << ": " << statuses[i].message);
    CHECK(statuses[i].label == sources[i].label);
    CHECK(statuses[i].ok);
    CHECK(statuses[i].status == 0);
    CHECK(statuses[i].sop_instance_uid == dicom::read_summary(sources[i].path).sop_instance_uid);
    const fs::path got = received(dir / "in", statuses[i].sop_instance_uid);
    const dicom::Summary s = dicom::read_summary(got.string());
    // The peer got every attribute as sent; compressed files arrive decoded, so their pixel
    // data is compared as the decoded image.
    CHECK(s.transfer_syntax_uid != "1.2.840.10008.1.2.5");
    CHECK(without_pixel_data(dicom::to_dicom_json(got.string())) ==
          without_pixel_data(dicom::to_dicom_json(sources[i].path)));
    CHECK(dicom::render_png_bytes(got.string(), {}) ==
          dicom::render_png_bytes(sources[i].path, {}));
  }
  // Uncompressed files keep even their pixel data bytes.
  const fs::path mr = received(dir / "in", statuses[0].sop_instance_uid);
  CHECK(without_padding(dicom::to_dicom_json(mr.string())) ==
        without_padding(dicom::to_dicom_json(sources[0].path)));
}

TEST_CASE("send keeps the compressed transfer syntax when the peer accepts it", "[dicom][net]") {
  TempDir dir;
  fs::create_directory(dir / "in");
  StoreScp scp(dir / "in", "STORESCP", {"+xa"});
  const std::vector<dicom::ExportSource> sources = {
      {pydicom_file("SC_rgb_rle.dcm"), "rle"},
      {pydicom_file("JPEG-lossy.dcm"), "jpeg"},
      {pydicom_file("MR_small_jpeg_ls_lossless.dcm"), "jpeg-ls"},
  };
  const auto statuses = dicom::send(sources, local("STORESCP", scp.port()), "WFCTL", 10);
  REQUIRE(statuses.size() == 3);
  for (std::size_t i = 0; i < sources.size(); ++i) {
    INFO(sources[i].path << ": " << statuses[i].message);
    CHECK(statuses[i].ok);
    const fs::path got = received(dir / "in", statuses[i].sop_instance_uid);
    CHECK(dicom::read_summary(got.string()).transfer_syntax_uid ==
          dicom::read_summary(sources[i].path).transfer_syntax_uid);
    CHECK(without_pixel_data(dicom::to_dicom_json(got.string())) ==
          without_pixel_data(dicom::to_dicom_json(sources[i].path)));
    CHECK(dicom::render_png_bytes(got.string(), {}) ==
          dicom::render_png_bytes(sources[i].path, {}));
  }
}

TEST_CASE("send reports a file the peer cannot take in its status, not as an error",
          "[dicom][net]") {
  TempDir dir;
  fs::create_directory(dir / "in");
  StoreScp scp(dir / "in", "STORESCP");  // no JPEG 2000, and we cannot decode it
  const auto statuses =
      dicom::send({{pydicom_file("JPEG2000.dcm"), "j2k"}, {pydicom_file("MR_small.dcm"), "mr"}},
                  local("STORESCP", scp.port()), "WFCTL", 10);
  REQUIRE(statuses.size() == 2);
  CHECK_FALSE(statuses[0].ok);
  CHECK_THAT(statuses[0].message, Catch::Contains("JPEG 2000"));
  CHECK(statuses[1].ok);
}

TEST_CASE("send checks every file before connecting", "[dicom][net]") {
  TempDir dir;
  wfctl::test::write_bytes(dir / "notes.txt", "not DICOM\n");
  const int closed = wfctl::test::free_port();
  // The peer is unreachable, yet the bad file is what gets reported.
  CHECK_THAT(error_of(ErrorKind::invalid_input,
                      [&] {
                        dicom::send({{pydicom_file("MR_small.dcm"), "ok"},
                                     {(dir / "notes.txt").string(), "record 9"}},
                                    local("STORESCP", closed), "WFCTL", 5);
                      }),
             Catch::StartsWith("record 9: not a DICOM file"));
  error_of(ErrorKind::unavailable, [&] {
    dicom::send({{pydicom_file("MR_small.dcm"), "ok"}}, local("STORESCP", closed), "WFCTL", 5);
  });
  CHECK(dicom::send({}, local("STORESCP", closed), "WFCTL", 5).empty());
}
