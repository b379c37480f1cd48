// wfctl::dicom export_tree, de-identification and path safety.
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <thread>
#include <chrono>
#include <cstdlib>
#include <wfctl/dicom/dicom.hpp>
#include <wfctl/error.hpp>

#include "dicom_fixtures.hpp"
#include "expect_error.hpp"
#include "dicom_hostile.hpp"
#include "temp_dir.hpp"

namespace dicom = wfctl::dicom;
namespace fs = std::filesystem;
using wfctl::ErrorKind;
using wfctl::test::pydicom_file;
using wfctl::test::read_bytes;
using wfctl::test::TempDir;

namespace {

const std::string k_mr_study = "1.3.6.1.4.1.5962.1.2.4.20040826185059.5457";
const std::string k_mr_series = "1.3.6.1.4.1.5962.1.3.4.1.20040826185059.5457";
const std::string k_mr_sop = "1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457";

// Collects every tag key anywhere in a DICOM JSON object, sequences included.
void collect_keys(const wfctl::Json& object, std::vector<std::string>& keys) {
  for (const auto& item : object.items()) {
    keys.push_back(item.key());
    if (item.value().value("vr", "") == "SQ" && item.value().contains("Value")) {
      for (const auto& nested : item.value()["Value"]) collect_keys(nested, keys);
    }
  }
}

bool has_private_tag(const wfctl::Json& object) {
  std::vector<std::string> keys;
  collect_keys(object, keys);
  return std::any_of(keys.begin(), keys.end(), [](const std::string& key) {
    return std::stoul(key.substr(0, 4), nullptr, 16) % 2 == 1;
  });
}

std::string first_value(const wfctl::Json& j, const std::string& key) {
  if (!j.contains(key) || !j[key].contains("Value") || j[key]["Value"].empty()) return {};
  const auto& v = j[key]["Value"][0];
  if (v.is_object()) return v.value("Alphabetic", "");
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// A copy of MR_small that is another instance of the same study and series, made with
// DCMTK's dcmodify on the copy.
std::string second_mr_instance(const TempDir& dir) {
  const fs::path copy = dir / "mr_second.dcm";
  fs::copy_file(pydicom_file("MR_small.dcm"), copy);
  const std::string command =
      "dcmodify -nb -q -m \"(0008,0018)=1.2.826.0.1.3680043.2.1143.777\" '" + copy.string() + "'";
  REQUIRE(std::system(command.c_str()) == 0);
  REQUIRE(dicom::read_summary(copy.string()).sop_instance_uid == "1.2.826.0.1.3680043.2.1143.777");
  return copy.string();
}

// A small instance (no pixel data) of one study and series, told apart by its SOP Instance UID.
std::string instance(unsigned number) {
  const wfctl::test::hostile::Encoding le;
  const std::string sop = "1.2.3.4." + std::to_string(number);
  return wfctl::test::hostile::part10(
      le.element(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.4") + le.element(0x0008, 0x0018, "UI", sop) +
          le.element(0x0008, 0x0060, "CS", "MR") + le.element(0x0010, 0x0020, "LO", "MANY") +
          le.element(0x0020, 0x000D, "UI", "1.2.3") + le.element(0x0020, 0x000E, "UI", "1.2.3.1"),
      "1.2.840.10008.1.2.1", sop);
}

// `count` such instances written into `dir`, as export sources.
std::vector<dicom::ExportSource> instances(const fs::path& dir, unsigned count) {
  std::vector<dicom::ExportSource> sources;
  for (unsigned i = 0; i < count; ++i) {
    const fs::path path = dir / ("in" + std::to_string(i) + ".dcm");
    wfctl::test::write_bytes(path, instance(i));
    sources.push_back({path.string(), "record " + std::to_string(i)});
  }
  return sources;
}

// Lowers the soft limit of open files for one scope.
class OpenFileLimit {
 public:
  explicit OpenFileLimit(rlim_t soft) {
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &m_previous) == 0);
    rlimit lowered = m_previous;
    lowered.rlim_cur = soft;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  }
  ~OpenFileLimit() { ::setrlimit(RLIMIT_NOFILE, &m_previous); }
  OpenFileLimit(const OpenFileLimit&) = delete;
  OpenFileLimit& operator=(const OpenFileLimit&) = delete;

 private:
  rlimit m_previous{};
};

}  // namespace

TEST_CASE("safe_path_component makes names safe on every filesystem", "[dicom]") {
  CHECK(dicom::safe_path_component("1.2.840.113619") == "1.2.840.113619");
  CHECK(dicom::safe_path_component("a/b\\c:d*e?f\"g<h>i|j") == "a_b_c_d_e_f_g_h_i_j");
  // Not UTF-8, and C1 controls: '_' too, so that the name prints and is what JSON reports.
  CHECK(dicom::safe_path_component("ID\x9b" "31m") == "ID_31m");
  CHECK(dicom::safe_path_component("a\xc2\x9b" "b\xc2\x85" "c") == "a_b_c");
  CHECK(dicom::safe_path_component("M\xc3\xbcller") == "M\xc3\xbcller");
  CHECK(dicom::safe_path_component(std::string("tab\there\nnul") + '\0' + "x\x7f") ==
        "tab_here_nul_x_");
  CHECK(dicom::safe_path_component("..") == "unknown");
  CHECK(dicom::safe_path_component(".hidden") == "hidden");
  CHECK(dicom::safe_path_component("  . name") == "name");
  CHECK(dicom::safe_path_component("trailing. . ") == "trailing");
  CHECK(dicom::safe_path_component("") == "unknown");
  CHECK(dicom::safe_path_component("   ") == "unknown");
  CHECK(dicom::safe_path_component("CON") == "_CON");
  CHECK(dicom::safe_path_component("nul") == "_nul");
  CHECK(dicom::safe_path_component("com1") == "_com1");
  CHECK(dicom::safe_path_component("LPT9.txt") == "_LPT9.txt");
  CHECK(dicom::safe_path_component("CONSOLE") == "CONSOLE");
  CHECK(dicom::safe_path_component("COM10") == "COM10");
  CHECK(dicom::safe_path_component(std::string(300, 'a')).size() == 255);
  // "é" is two bytes; a cut in the middle would leave invalid UTF-8.
  std::string accented;
  for (int i = 0; i < 200; ++i) accented += "\xC3\xA9";
  const std::string cut = dicom::safe_path_component(accented);
  CHECK(cut.size() == 254);
  CHECK(dicom::safe_path_component(accented, 5) == "\xC3\xA9\xC3\xA9");
}

TEST_CASE("export_tree copies files into PatientID/Study/Series/Instance.dcm", "[dicom]") {
  TempDir dir;
  const fs::path out = dir / "export";
  const std::vector<dicom::ExportSource> sources = {
      {pydicom_file("MR_small.dcm"), "record 1"},
      {pydicom_file("CT_small.dcm"), ""},
      {pydicom_file("ExplVR_LitEndNoMeta.dcm"), "record 3"},
  };
  const std::vector<dicom::Exported> exported = dicom::export_tree(sources, out.string(), false);
  REQUIRE(exported.size() == 3);
  CHECK(exported[0].label == "record 1");
  CHECK(exported[0].path ==
        (out / "4MR1" / k_mr_study / k_mr_series / (k_mr_sop + ".dcm")).string());
  CHECK(read_bytes(exported[0].path) == read_bytes(pydicom_file("MR_small.dcm")));
  CHECK(exported[1].label == pydicom_file("CT_small.dcm"));
  CHECK_THAT(exported[1].path, Catch::StartsWith((out / "1CT1").string() + "/"));
  CHECK(read_bytes(exported[1].path) == read_bytes(pydicom_file("CT_small.dcm")));

  // A bare data set gains a meta header and stays the same data set.
  const std::string bare = read_bytes(exported[2].path);
  REQUIRE(bare.size() > 132);
  CHECK(bare.substr(128, 4) == "DICM");
  CHECK(dicom::to_dicom_json(exported[2].path) ==
        dicom::to_dicom_json(pydicom_file("ExplVR_LitEndNoMeta.dcm")));

  // Exporting again replaces the files and leaves no temporary files.
  CHECK(dicom::export_tree(sources, out.string(), false).size() == 3);
  CHECK(wfctl::test::files_below(out).size() == 3);
}

TEST_CASE("export_tree rejects a non-DICOM source by its label and leaves no partial file",
          "[dicom]") {
  TempDir dir;
  wfctl::test::write_bytes(dir / "notes.txt", "not DICOM at all\n");
  wfctl::test::write_bytes(dir / "cut.dcm",
                           read_bytes(pydicom_file("CT_small.dcm")).substr(0, 3000));
  const fs::path out = dir / "export";
  for (const char* bad : {"notes.txt", "cut.dcm"}) {
    INFO(bad);
    std::string message;
    try {
      dicom::export_tree(
          {{pydicom_file("MR_small.dcm"), "record 6"}, {(dir / bad).string(), "record 7"}},
          out.string(), true);
      FAIL("no error");
    } catch (const wfctl::Error& e) {
      CHECK(e.kind() == ErrorKind::invalid_input);
      message = e.what();
    }
    CHECK_THAT(message, Catch::StartsWith("record 7: "));
    // All or nothing: not even the good record before the bad one, nor a folder for it.
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("a failed export restores the files it replaced and removes the folders it made", "[dicom]") {
  TempDir dir;
  const fs::path out = dir / "export";
  auto first = dicom::export_tree({{pydicom_file("MR_small.dcm"), "record 6"}}, out.string(), false);
  REQUIRE(first.size() == 1);
  const std::string before = read_bytes(first[0].path);
  wfctl::test::write_bytes(first[0].path, before + "marker");  // so that a replacement would show
  // The CT's target is taken by a directory, so its publication fails after the MR's.
  auto probe = dicom::export_tree({{pydicom_file("CT_small.dcm"), "record 8"}}, (dir / "probe").string(), false);
  const fs::path ct_target = out / fs::relative(probe[0].path, dir / "probe");
  fs::create_directories(ct_target);
  // The kernel refuses to put a file where a directory is with EPERM: the errno table's 8.
  wfctl::test::error_of(ErrorKind::permission, [&] {
    dicom::export_tree({{pydicom_file("MR_small.dcm"), "record 6"}, {pydicom_file("CT_small.dcm"), "record 8"}},
                       out.string(), false);
  });
  CHECK(read_bytes(first[0].path) == before + "marker");  // the replaced file is back
  CHECK(wfctl::test::files_below(out).size() == 1);      // no temporary file, no backup
  fs::remove(ct_target);
  // A failure while writing (here a file where the CT's patient folder must go) removes the
  // folders made for the MR and its temporary file.
  const fs::path out2 = dir / "export2";
  fs::create_directories(out2);
  const fs::path ct_patient = out2 / *fs::relative(probe[0].path, dir / "probe").begin();
  wfctl::test::write_bytes(ct_patient, "in the way");
  wfctl::test::error_of(ErrorKind::usage, [&] {  // ENOTDIR
    dicom::export_tree({{pydicom_file("MR_small.dcm"), "record 6"}, {pydicom_file("CT_small.dcm"), "record 8"}},
                       out2.string(), false);
  });
  CHECK(wfctl::test::files_below(out2) == std::vector<fs::path>{ct_patient});
  CHECK(std::distance(fs::directory_iterator(out2), fs::directory_iterator()) == 1);
  // Two sources that are the same instance would overwrite each other: refused as a conflict.
  try {
    dicom::export_tree({{pydicom_file("MR_small.dcm"), "record 6"}, {pydicom_file("MR_small.dcm"), "record 9"}},
                       (dir / "other").string(), false);
    FAIL("no error");
  } catch (const wfctl::Error& e) {
    CHECK(e.kind() == ErrorKind::conflict);
    CHECK_THAT(e.what(), Catch::Contains("record 6") && Catch::Contains("record 9"));
  }
  CHECK_FALSE(fs::exists(dir / "other"));
}

TEST_CASE("export_tree with anonymize applies the basic confidentiality profile", "[dicom]") {
  TempDir dir;
  const std::string mr = pydicom_file("MR_small.dcm");
  const std::string ct = pydicom_file("CT_small.dcm");
  const std::string mr2 = second_mr_instance(dir);
  const std::string mr_before = read_bytes(mr), ct_before = read_bytes(ct),
                    mr2_before = read_bytes(mr2);
  const fs::path out = dir / "anon";

  const auto exported =
      dicom::export_tree({{mr, "mr"}, {mr2, "mr2"}, {ct, "ct"}}, out.string(), true);
  REQUIRE(exported.size() == 3);

  // Sources are untouched.
  CHECK(read_bytes(mr) == mr_before);
  CHECK(read_bytes(mr2) == mr2_before);
  CHECK(read_bytes(ct) == ct_before);

  const dicom::Summary a = dicom::read_summary(exported[0].path);
  const dicom::Summary b = dicom::read_summary(exported[1].path);
  const dicom::Summary c = dicom::read_summary(exported[2].path);

  // Identifiers replaced; UIDs consistently, so the two MR instances keep their study.
  CHECK_THAT(a.patient_id, Catch::StartsWith("ANON-"));
  CHECK(a.patient_name == a.patient_id);
  CHECK(b.patient_id == a.patient_id);
  CHECK(c.patient_id != a.patient_id);
  CHECK(a.study_instance_uid != k_mr_study);
  CHECK_THAT(a.study_instance_uid, Catch::StartsWith("2.25."));
  CHECK(a.study_instance_uid.size() <= 64);
  CHECK(b.study_instance_uid == a.study_instance_uid);
  CHECK(b.series_instance_uid == a.series_instance_uid);
  CHECK(a.series_instance_uid != k_mr_series);
  CHECK(a.sop_instance_uid != k_mr_sop);
  CHECK(b.sop_instance_uid != a.sop_instance_uid);
  CHECK(c.study_instance_uid != a.study_instance_uid);
  // What names a kind of thing stays.
  CHECK(a.sop_class_uid == "1.2.840.10008.5.1.4.1.1.4");
  CHECK(a.modality == "MR");
  CHECK(a.rows == 64);
  CHECK(a.study_date.empty());

  // The paths use the new identifiers.
  CHECK(exported[0].path == (out / a.patient_id / a.study_instance_uid / a.series_instance_uid /
                             (a.sop_instance_uid + ".dcm"))
                                .string());

  const wfctl::Json j = dicom::to_dicom_json(exported[2].path);
  CHECK(first_value(j, "00100030").empty());                  // PatientBirthDate
  CHECK(first_value(j, "00080080") != "JFK IMAGING CENTER");  // InstitutionName
  CHECK(first_value(j, "00081010") != "CT01_OC0");            // StationName
  CHECK_FALSE(j.contains("00101002"));                        // OtherPatientIDsSequence
  CHECK_FALSE(j.contains("00080201"));                        // TimezoneOffsetFromUTC
  CHECK(first_value(j, "00200010").empty());                  // StudyID
  CHECK(first_value(j, "00120062") == "YES");                 // PatientIdentityRemoved
  CHECK_THAT(first_value(j, "00120063"),
             Catch::Contains("Basic Application Level Confidentiality"));
  REQUIRE(j.contains("00120064"));
  CHECK(j["00120064"]["Value"][0]["00080100"]["Value"][0] == "113100");
  CHECK(j["00120064"]["Value"][0]["00080102"]["Value"][0] == "DCM");
  CHECK(first_value(j, "00080014") != "1.3.6.1.4.1.5962.3");  // InstanceCreatorUID
  CHECK(has_private_tag(dicom::to_dicom_json(ct)));
  CHECK_FALSE(has_private_tag(j));

  // No identifying original text survives anywhere in the files, meta header included.
  const std::string ct_out = read_bytes(exported[2].path);
  for (const char* original : {"CompressedSamples", "1CT1", "JFK IMAGING", "ABCD1234",
                               "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322",
                               "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"}) {
    INFO(original);
    CHECK(ct_out.find(original) == std::string::npos);
  }
  const std::string mr_out = read_bytes(exported[0].path);
  CHECK(mr_out.find(k_mr_sop) == std::string::npos);
  CHECK(mr_out.find("4MR1") == std::string::npos);

  // Pixel data is untouched, so the image is the same.
  CHECK(dicom::render_png_bytes(exported[0].path, {}) == dicom::render_png_bytes(mr, {}));
}

TEST_CASE("anonymize removes private attributes inside sequences too", "[dicom]") {
  TempDir dir;
  for (const char* file : {"priv_SQ.dcm", "nested_priv_SQ.dcm"}) {
    INFO(file);
    REQUIRE(has_private_tag(dicom::to_dicom_json(pydicom_file(file))));
    const auto exported =
        dicom::export_tree({{pydicom_file(file), file}}, (dir / file).string(), true);
    const wfctl::Json j = dicom::to_dicom_json(exported.at(0).path);
    CHECK_FALSE(has_private_tag(j));
    CHECK(first_value(j, "00120062") == "YES");
  }
}

TEST_CASE("anonymize keeps compressed files compressed and decodable", "[dicom]") {
  TempDir dir;
  const std::string rle = pydicom_file("MR_small_RLE.dcm");
  const auto exported = dicom::export_tree({{rle, "rle"}}, dir.path().string(), true);
  const dicom::Summary s = dicom::read_summary(exported.at(0).path);
  CHECK(s.transfer_syntax_uid == "1.2.840.10008.1.2.5");
  CHECK(dicom::render_png_bytes(exported[0].path, {}) == dicom::render_png_bytes(rle, {}));
}

TEST_CASE("separate anonymized exports get separate identities", "[dicom]") {
  TempDir dir;
  const std::string mr = pydicom_file("MR_small.dcm");
  const auto first = dicom::export_tree({{mr, "a"}}, (dir / "1").string(), true);
  const auto second = dicom::export_tree({{mr, "a"}}, (dir / "2").string(), true);
  const dicom::Summary x = dicom::read_summary(first.at(0).path);
  const dicom::Summary y = dicom::read_summary(second.at(0).path);
  CHECK(x.patient_id != y.patient_id);
  CHECK(x.study_instance_uid != y.study_instance_uid);
}

TEST_CASE("exported files get 0666 less the umask, like every file a command writes", "[dicom]") {
  using wfctl::test::mode_of;
  TempDir dir;
  std::vector<dicom::Exported> exported, anonymized;
  {
    const wfctl::test::Umask mask(027);
    exported = dicom::export_tree(
        {{pydicom_file("MR_small.dcm"), "copied"}, {pydicom_file("ExplVR_LitEndNoMeta.dcm"), "re-encoded"}},
        (dir / "out").string(), false);
    anonymized =
        dicom::export_tree({{pydicom_file("CT_small.dcm"), "anonymized"}}, (dir / "anon").string(), true);
  }
  REQUIRE(exported.size() == 2);
  CHECK(mode_of(exported[0].path) == 0640);
  CHECK(mode_of(exported[1].path) == 0640);
  CHECK(mode_of(anonymized.at(0).path) == 0640);
}

TEST_CASE("an export may hold more files than the process may keep open", "[dicom]") {
  TempDir dir;
  std::vector<dicom::ExportSource> sources = instances(dir.path(), 80);
  const fs::path out = dir / "out";
  const fs::path series = out / "MANY" / "1.2.3" / "1.2.3.1";
  {
    const OpenFileLimit limit(48);  // fewer than the files waiting to be renamed into place
    const auto exported = dicom::export_tree(sources, out.string(), false);
    REQUIRE(exported.size() == 80);
    CHECK(exported[79].path == (series / "1.2.3.4.79.dcm").string());
    CHECK(read_bytes(exported[79].path) == instance(79));
    CHECK(wfctl::test::files_below(out).size() == 80);  // nothing parked is left behind

    // A failure in the renames takes everything back, the files waiting under hidden names
    // included: here the last target is taken by a directory.
    fs::remove_all(out);
    fs::create_directories(series / "1.2.3.4.79.dcm");
    wfctl::test::error_of(ErrorKind::permission, [&] { dicom::export_tree(sources, out.string(), false); });  // EPERM
  }
  CHECK(wfctl::test::files_below(out).empty());
}

TEST_CASE("cancelling a call's token stops its export inside the DICOM module", "[dicom][cancel]") {
  TempDir dir;
  std::vector<dicom::ExportSource> sources = instances(dir.path(), 500);
  // Cancelled by another thread once the module has begun writing: the module looks at the
  // token between files, and stops long before the 500th.
  wfctl::Cancel cancel = wfctl::Cancel::make();
  std::atomic<bool> done{false};
  std::thread canceller([&] {
    while (!done && !fs::exists(dir / "out" / "MANY")) std::this_thread::sleep_for(std::chrono::microseconds(200));
    cancel.cancel();
  });
  std::string kind;
  try {
    dicom::export_tree(sources, (dir / "out").string(), false, cancel);
    kind = "finished";
  } catch (const wfctl::Error& e) {
    kind = e.kind() == ErrorKind::interrupted ? "interrupted" : e.what();
  }
  done = true;
  canceller.join();
  CHECK(kind == "interrupted");
  CHECK_FALSE(fs::exists(dir / "out"));  // rolled back, the folders it made included
  // Another call's token is not this one's: with a live token the same export completes.
  sources.resize(20);
  CHECK(dicom::export_tree(sources, (dir / "out").string(), false, wfctl::Cancel::make()).size() == 20);
}
