// wfctl/util/fs: AtomicFile, the one temporary-file type, and its permission rule.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <wfctl/error.hpp>
#include <wfctl/util/fs.hpp>

#include "dicom_fixtures.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using wfctl::AtomicFile;
using wfctl::test::files_below;
using wfctl::test::mode_of;
using wfctl::test::read_bytes;
using wfctl::test::TempDir;
using wfctl::test::Umask;

namespace {

void write(AtomicFile& file, const std::string& text) {
  wfctl::write_all(file.fd(), text.data(), text.size(), file.what());
}

}  // namespace

TEST_CASE("an AtomicFile shows nothing before its commit and leaves nothing without one", "[fs]") {
  TempDir dir;
  const fs::path target = dir / "out.dcm";
  {
    AtomicFile file(target);
    write(file, "half");
    CHECK(files_below(dir.path()).empty());
  }
  CHECK(files_below(dir.path()).empty());
  AtomicFile file(target);
  write(file, "whole");
  file.sync();
  CHECK(files_below(dir.path()).empty());
  file.commit(false);
  CHECK(files_below(dir.path()) == std::vector<fs::path>{target});
  CHECK(read_bytes(target) == "whole");
}

TEST_CASE("an AtomicFile replaces only when asked to", "[fs]") {
  TempDir dir;
  const fs::path target = dir / "out.png";
  wfctl::test::write_bytes(target, "old");
  AtomicFile refused(target);
  write(refused, "new");
  try {
    refused.commit(false);
    FAIL("no error");
  } catch (const wfctl::Error& e) {
    CHECK(e.kind() == wfctl::ErrorKind::conflict);
    CHECK(std::string(e.what()) == target.string() + " already exists");
  }
  CHECK(read_bytes(target) == "old");
  AtomicFile replacing(target);
  write(replacing, "new");
  replacing.commit(true);
  CHECK(read_bytes(target) == "new");
  CHECK(files_below(dir.path()) == std::vector<fs::path>{target});
}

TEST_CASE("a parked AtomicFile waits under a hidden name, without a descriptor", "[fs]") {
  TempDir dir;
  const fs::path target = dir / "a.dcm";
  {
    AtomicFile file(target);
    write(file, "parked");
    file.park();
    CHECK(file.fd() == -1);
    const auto waiting = files_below(dir.path());
    REQUIRE(waiting.size() == 1);
    CHECK_THAT(waiting[0].filename().string(), Catch::StartsWith(".a.dcm.tmp-"));
    CHECK(read_bytes(waiting[0]) == "parked");
  }
  CHECK(files_below(dir.path()).empty());  // not committed: removed
  AtomicFile file(target);
  write(file, "parked");
  file.park();
  file.commit(true);
  CHECK(files_below(dir.path()) == std::vector<fs::path>{target});
  CHECK(read_bytes(target) == "parked");
}

TEST_CASE("AtomicFile permissions are the ones asked for, less the umask", "[fs]") {
  TempDir dir;
  {
    const Umask mask(022);
    AtomicFile file(dir / "shared", wfctl::k_output_file_perms);
    file.commit(false);
    AtomicFile own(dir / "own");
    own.commit(false);
  }
  CHECK(mode_of(dir / "shared") == 0644);
  CHECK(mode_of(dir / "own") == 0600);
  {
    const Umask mask(077);
    AtomicFile file(dir / "private", wfctl::k_output_file_perms);
    file.park();  // a parked file keeps them too
    file.commit(false);
  }
  CHECK(mode_of(dir / "private") == 0600);
  {
    const Umask mask(002);
    AtomicFile file(dir / "group", wfctl::k_output_file_perms);
    file.commit(false);
  }
  CHECK(mode_of(dir / "group") == 0664);
}
