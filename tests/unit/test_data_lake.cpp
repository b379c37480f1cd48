// The data-lake folder of the local store, and the util/fs helpers it stands on.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>
#include <wfctl/error.hpp>
#include <wfctl/store/lake/data_lake.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/sha256.hpp>

#include "temp_dir.hpp"

namespace fs = std::filesystem;
using wfctl::Error;
using wfctl::ErrorKind;
using wfctl::ReadFn;
using wfctl::lake::DataLake;
using wfctl::lake::LakeFile;
using wfctl::lake::StagedFile;
using wfctl::test::TempDir;

namespace {

// A source that hands out `data` in pieces of at most `piece` bytes, like a socket would.
ReadFn string_reader(std::string data, std::size_t piece = 65'537) {
  auto pos = std::make_shared<std::size_t>(0);
  return [data = std::move(data), pos, piece](char* buf, std::size_t cap) {
    const std::size_t n = std::min({cap, piece, data.size() - *pos});
    std::copy_n(data.data() + *pos, n, buf);
    *pos += n;
    return n;
  };
}

std::string random_bytes(std::size_t n) {
  std::mt19937_64 rng(42);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string read_fd(int fd) {
  std::string out;
  char buf[65536];
  while (std::size_t n = wfctl::read_some(fd, buf, sizeof buf)) out.append(buf, n);
  return out;
}

void spit(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary);
  out << content;
}

// Every entry below `root` (symlinks not followed), with its size for regular files.
std::set<std::string> tree(const fs::path& root) {
  std::set<std::string> out;
  if (!fs::exists(root)) return out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string line = fs::relative(e.path(), root).string();
    if (e.is_symlink())
      line += " -> " + fs::read_symlink(e.path()).string();
    else if (e.is_regular_file())
      line += " " + std::to_string(e.file_size());
    else if (e.is_directory())
      line += "/";
    out.insert(line);
  }
  return out;
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

LakeFile put(DataLake& lake, wfctl::RecordId record, const std::string& name,
             const std::string& content, bool force = false) {
  StagedFile staged = lake.stage(string_reader(content));
  auto publication = lake.publish(staged, record, name, force);
  publication.commit();
  return publication.file();
}

ErrorKind kind_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.kind();
  }
  FAIL("no wfctl::Error was thrown");
  return ErrorKind::internal;
}

// A pid that certainly belonged to a process that has exited.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  REQUIRE(pid > 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return pid;
}

// Whether any process (this one included) holds open a file that was deleted from under `dir`.
bool deleted_file_held_under(const fs::path& dir) {
  const std::string prefix = dir.string() + "/";
  std::error_code ec;
  for (fs::directory_iterator proc("/proc", ec), end; !ec && proc != end; proc.increment(ec)) {
    const std::string pid = proc->path().filename().string();
    if (pid.empty() || !std::isdigit(static_cast<unsigned char>(pid[0]))) continue;
    std::error_code fd_ec;  // another user's process, or one that just ended
    for (fs::directory_iterator fd(proc->path() / "fd", fd_ec); !fd_ec && fd != end;
         fd.increment(fd_ec)) {
      std::error_code link_ec;
      const std::string target = fs::read_symlink(fd->path(), link_ec).string();
      if (!link_ec && target.rfind(prefix, 0) == 0 && target.ends_with(" (deleted)")) return true;
    }
  }
  return false;
}

// Whether `done` becomes true within ten seconds.
bool eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 200; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// A file of `size` allocated bytes.
void allocate(const fs::path& p, off_t size) {
  wfctl::UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  REQUIRE(fd);
  REQUIRE(::posix_fallocate(fd.get(), 0, size) == 0);
}

mode_t current_umask() {
  const mode_t mask = ::umask(022);
  ::umask(mask);
  return mask;
}

}  // namespace

TEST_CASE("lake: stage, publish and open round-trip the bytes and the digest", "[lake]") {
  TempDir tmp;
  DataLake lake(tmp / "lake");
  // Larger than the copy buffer, in uneven pieces, so that buffer refills are exercised.
  const std::string data = random_bytes(9 * 1024 * 1024 + 123);

  StagedFile staged = lake.stage(string_reader(data));
  CHECK(staged.size() == data.size());
  CHECK(staged.sha256() == wfctl::sha256_hex(data));
  CHECK(staged.path().parent_path() == tmp / "lake" / "tmp");
  CHECK(slurp(staged.path()) == data);

  auto publication = lake.publish(staged, 7, "kspace.npy", false);
  publication.commit();
  const LakeFile published = publication.file();
  CHECK(published.record == 7);
  CHECK(published.name == "kspace.npy");
  CHECK(published.size == data.size());
  CHECK(staged.path().empty());
  CHECK(entries(tmp / "lake" / "tmp").empty());
  CHECK(slurp(tmp / "lake" / "records" / "7" / "kspace.npy") == data);

  auto opened = lake.open(7, "kspace.npy");
  REQUIRE(opened);
  CHECK(opened->second.inode == published.inode);
  CHECK(opened->second.size == published.size);
  CHECK(opened->second.mtime_ns == published.mtime_ns);
  const std::string back = read_fd(opened->first.get());
  CHECK(back.size() == data.size());
  CHECK(wfctl::sha256_hex(back) == staged.sha256());

  auto st = lake.stat(7, "kspace.npy");
  REQUIRE(st);
  CHECK(st->inode == published.inode);

  // Readable by a separate reconstruction service just as an ordinary file would be.
  const auto perms = fs::status(tmp / "lake" / "records" / "7" / "kspace.npy").permissions();
  CHECK(static_cast<mode_t>(perms & fs::perms::mask) == (0666 & ~current_umask()));
}

TEST_CASE("lake: an empty source publishes an empty file", "[lake]") {
  TempDir tmp;
  DataLake lake(tmp.path());
  const LakeFile f = put(lake, 1, "empty.bin", "");
  CHECK(f.size == 0);
  CHECK(lake.stat(1, "empty.bin")->size == 0);
}

TEST_CASE("lake: publishing over an existing file without force is a conflict", "[lake]") {
  TempDir tmp;
  DataLake lake(tmp.path());
  const LakeFile old = put(lake, 7, "x", "old contents");
  {
    StagedFile staged = lake.stage(string_reader("new contents"));
    try {
      lake.publish(staged, 7, "x", false);
      FAIL("publish did not throw");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::conflict);
      CHECK(std::string(e.what()) == "records/7/x already exists");
      CHECK(e.hint() == "use --force to replace it");
    }
    // Still staged, so the caller could retry with force.
    CHECK(fs::exists(staged.path()));
  }
  CHECK(slurp(tmp / "records" / "7" / "x") == "old contents");
  CHECK(lake.stat(7, "x")->inode == old.inode);
  CHECK(entries(tmp / "tmp").empty());
}

TEST_CASE("lake: force replaces the file with a new inode", "[lake]") {
  TempDir tmp;
  DataLake lake(tmp.path());
  const LakeFile old = put(lake, 7, "x", "old contents");
  auto reader = lake.open(7, "x");
  REQUIRE(reader);

  const LakeFile replaced = put(lake, 7, "x", "new", true);
  CHECK(replaced.inode != old.inode);
  CHECK(replaced.size == 3);
  CHECK(slurp(tmp / "records" / "7" / "x") == "new");
  CHECK(entries(tmp / "tmp").empty());
  // A reader that opened before the replacement still sees the whole old file.
  CHECK(read_fd(reader->first.get()) == "old contents");

  // Force onto a name that does not exist yet is an ordinary publish.
  CHECK(put(lake, 8, "y", "fresh", true).size == 5);
}

TEST_CASE("lake: unsafe names are refused and create nothing", "[lake]") {
  TempDir tmp;
  DataLake lake(tmp.path());
  put(lake, 7, "existing", "data");
  StagedFile staged = lake.stage(string_reader("payload"));
  const auto before = tree(tmp.path());

  const std::vector<std::string> unsafe = {
      "",
      ".",
      "..",
      "a/b",
      "a/../b",
      "../x",
      "../../etc/passwd",
      "/abs",
      "x/",
      "x\\y",
      "..\\x",
      "\x01",
      "a\nb",
      "tab\there",
      "del\x7f",
      std::string("nul\0byte", 8),
      std::string(256, 'a'),
      "\xff",
      "caf\xe9",           // Latin-1, not UTF-8
      "\xc0\xaf",          // overlong '/'
      "\xed\xa0\x80",      // a UTF-16 surrogate
      "\xf4\x90\x80\x80",  // past U+10FFFF
      "csi\xc2\x9b",       // the C1 control U+009B
      " leading",
      "trailing ",
      " ",
  };
  for (const auto& name : unsafe) {
    INFO("name: " << wfctl::lake::escape_name(name));
    try {
      DataLake::check_name(name);
      FAIL("check_name accepted it");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::invalid_input);
      CHECK(std::string(e.what()).rfind("unsafe file name '", 0) == 0);
      for (const char c : std::string(e.what())) CHECK((static_cast<unsigned char>(c) >= 0x20));
    }
    CHECK(kind_of([&] { lake.publish(staged, 7, name, false); }) == ErrorKind::invalid_input);
    CHECK(kind_of([&] { lake.publish(staged, 9, name, true); }) == ErrorKind::invalid_input);
    CHECK(kind_of([&] { lake.stat(9, name); }) == ErrorKind::invalid_input);
    CHECK(kind_of([&] { lake.open(9, name); }) == ErrorKind::invalid_input);
    CHECK(kind_of([&] { lake.remove_files(7, {name}); }) == ErrorKind::invalid_input);
  }
  CHECK(tree(tmp.path()) == before);
  CHECK(fs::exists(staged.path()));
}

TEST_CASE("lake: literal names that merely look encoded or dotted are accepted", "[lake]") {
  TempDir tmp;
  DataLake lake(tmp.path());
  const std::vector<std::string> safe = {
      "%2e%2e",
      "..%2f",
      "%2e%2e%2fx",
      "a..b",
      "...",
      ".hidden",
      "record-7.dcm",
      "a b",
      "-rf",
      "r\xc3\xa9sum\xc3\xa9.dcm",
      "\xe6\x97\xa5\xe6\x9c\xac.npy",
      std::string(255, 'a'),
  };
  for (const auto& name : safe) {
    INFO("name: " << name);
    CHECK_NOTHROW(DataLake::check_name(name));
    put(lake, 3, name, name);
    CHECK(slurp(tmp / "records" / "3" / name) == name);
  }
  CHECK(lake.scan(3).size() == safe.size());
  CHECK(entries(tmp / "records").size() == 1);
}

TEST_CASE("lake: messages escape control characters and cut long names", "[lake]") {
  auto message = [](const std::string& name) {
    try {
      DataLake::check_name(name);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(message("\x01") == "unsafe file name '\\x01': it contains the control character \\x01");
  CHECK(message("a\nb") == "unsafe file name 'a\\x0ab': it contains the control character \\x0a");
  CHECK(message("x\\y") == "unsafe file name 'x\\x5cy': it contains '\\'");
  CHECK(message("..") == "unsafe file name '..': it names a directory, not a file");
  CHECK(message("caf\xe9") == "unsafe file name 'caf\\xe9': it is not valid UTF-8");
  CHECK(message(std::string(300, 'a')) ==
        "unsafe file name '" + std::string(64, 'a') + "...': it is 300 bytes long (at most 255)");
}

TEST_CASE("lake: record ids must be positive", "[lake]") {
  TempDir tmp;
  DataLake lake(tmp / "lake");
  for (const wfctl::RecordId bad :
       {wfctl::RecordId{0}, wfctl::RecordId{-1}, std::numeric_limits<wfctl::RecordId>::min()}) {
    StagedFile staged = lake.stage(string_reader("x"));
    CHECK(kind_of([&] { lake.publish(staged, bad, "x", false); }) == ErrorKind::invalid_input);
    CHECK(kind_of([&] { lake.stat(bad, "x"); }) == ErrorKind::invalid_input);
    CHECK(kind_of([&] { lake.scan(bad); }) == ErrorKind::invalid_input);
  }
  CHECK(!fs::exists(tmp / "lake" / "records"));
  const auto max = std::numeric_limits<wfctl::RecordId>::max();
  put(lake, max, "x", "big id");
  CHECK(slurp(tmp / "lake" / "records" / "9223372036854775807" / "x") == "big id");
  CHECK(lake.scan(std::nullopt).at(0).record == max);
}

TEST_CASE("lake: a staged file that is never published leaves nothing", "[lake]") {
  TempDir tmp;
  DataLake lake(tmp.path());
  fs::path path;
  {
    StagedFile staged = lake.stage(string_reader("abandoned"));
    path = staged.path();
    CHECK(fs::exists(path));
    StagedFile moved = std::move(staged);
    CHECK(moved.path() == path);
    CHECK(staged.path().empty());
    { StagedFile gone = std::move(staged); }  // a moved-from file owns nothing to remove
    CHECK(fs::exists(path));
  }
  CHECK(!fs::exists(path));
  CHECK(entries(tmp / "tmp").empty());
  CHECK(!fs::exists(tmp / "records"));
}

TEST_CASE("lake: a source that fails halfway leaves nothing behind", "[lake]") {
  TempDir tmp;
  DataLake lake(tmp.path());
  std::size_t served = 0;
  ReadFn failing = [&](char* buf, std::size_t cap) -> std::size_t {
    if (served >= 6 * 1024 * 1024) throw Error(ErrorKind::unavailable, "connection dropped");
    const std::size_t n = std::min<std::size_t>(cap, 100'000);
    std::fill_n(buf, n, 'k');
    served += n;
    return n;
  };
  try {
    lake.stage(failing);
    FAIL("stage did not throw");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::unavailable);
    CHECK(std::string(e.what()) == "connection dropped");
  }
  CHECK(entries(tmp / "tmp").empty());
  CHECK(!fs::exists(tmp / "records"));

  ReadFn lying = [](char*, std::size_t cap) { return cap + 1; };
  CHECK(kind_of([&] { lake.stage(lying); }) == ErrorKind::internal);
  CHECK(entries(tmp / "tmp").empty());
}

TEST_CASE("lake: stale temporary files of dead processes are swept once", "[lake]") {
  TempDir tmp;
  fs::create_directories(tmp / "tmp");
  const pid_t dead = dead_pid();
  const auto hour_ago = fs::file_time_type::clock::now() - std::chrono::hours(1);
  const auto old_file = [&](const std::string& name) {
    spit(tmp / "tmp" / name, "partial");
    fs::last_write_time(tmp / "tmp" / name, hour_ago);
  };
  const std::string stale = "upload-" + std::to_string(dead) + "-0123abcd";
  const std::string ours = "upload-" + std::to_string(::getpid()) + "-0123abcd";
  const std::string fresh = "upload-" + std::to_string(dead) + "-fresh";
  old_file(stale);
  old_file(ours);
  old_file("unrelated");
  old_file("upload-notapid");
  spit(tmp / "tmp" / fresh, "being written right now");  // maybe another host's upload

  DataLake lake(tmp.path());
  put(lake, 1, "a", "a");
  std::vector<std::string> left = entries(tmp / "tmp");
  std::sort(left.begin(), left.end());
  std::vector<std::string> expected = {fresh, ours, "unrelated", "upload-notapid"};
  std::sort(expected.begin(), expected.end());
  CHECK(left == expected);

  // Only once per DataLake: a later stale file stays until the next instance.
  const std::string later = "upload-" + std::to_string(dead) + "-later";
  old_file(later);
  put(lake, 1, "b", "b");
  CHECK(fs::exists(tmp / "tmp" / later));
  DataLake next(tmp.path());
  put(next, 1, "c", "c");
  CHECK(!fs::exists(tmp / "tmp" / later));
}

TEST_CASE("lake: scan lists regular files by record then name and skips the rest", "[lake]") {
  TempDir tmp;
  TempDir outside;
  DataLake lake(tmp / "lake");
  CHECK(lake.scan(std::nullopt).empty());
  CHECK(lake.scan(4).empty());
  CHECK(!fs::exists(tmp / "lake"));

  put(lake, 10, "d", "dddd");
  put(lake, 2, "c", "ccc");
  put(lake, 1, "b", "bb");
  put(lake, 1, "a", "a");

  const fs::path records = tmp / "lake" / "records";
  spit(outside / "secret", "outside the lake");
  fs::create_directories(records / "abc");
  spit(records / "abc" / "f", "junk");
  fs::create_directories(records / "007");
  spit(records / "007" / "f", "junk");
  fs::create_directories(records / "0");
  spit(records / "0" / "f", "junk");
  fs::create_directories(records / "-3");
  spit(records / "-3" / "f", "junk");
  fs::create_directories(records / "99999999999999999999");
  spit(records / "99999999999999999999" / "f", "junk");
  spit(records / "5", "a file where a record folder should be");
  fs::create_directory_symlink(outside.path(), records / "3");
  fs::create_symlink(outside / "secret", records / "1" / "link");
  fs::create_symlink("a", records / "1" / "relative-link");
  fs::create_directories(records / "1" / "subdir");
  spit(records / "1" / "subdir" / "nested", "junk");
  spit(records / "1" / "bad\x01name", "junk");
  spit(records / "1" / " spaced", "junk");
  REQUIRE(::mkfifo((records / "1" / "fifo").c_str(), 0600) == 0);

  const auto all = lake.scan(std::nullopt);
  std::vector<std::pair<wfctl::RecordId, std::string>> got;
  for (const auto& f : all) got.emplace_back(f.record, f.name);
  CHECK(got == std::vector<std::pair<wfctl::RecordId, std::string>>{
                   {1, "a"}, {1, "b"}, {2, "c"}, {10, "d"}});
  CHECK(all[3].size == 4);

  const auto one = lake.scan(1);
  REQUIRE(one.size() == 2);
  CHECK(one[0].name == "a");
  CHECK(one[1].name == "b");
  CHECK(lake.scan(99).empty());
  // Naming a symlinked record folder explicitly is refused rather than silently empty.
  CHECK(kind_of([&] { lake.scan(3); }) == ErrorKind::permission);

  // Whatever is not a regular file is absent to stat and open as well (and a FIFO does not
  // block open).
  for (const std::string name : {"link", "relative-link", "subdir", "fifo"}) {
    INFO(name);
    CHECK(!lake.stat(1, name));
    CHECK(!lake.open(1, name));
  }
}

TEST_CASE("lake: open, stat and remove of missing files", "[lake]") {
  TempDir tmp;
  DataLake lake(tmp / "lake");
  CHECK(!lake.open(7, "missing"));
  CHECK(!lake.stat(7, "missing"));
  CHECK(kind_of([&] { lake.remove_files(7, {"missing"}); }) == ErrorKind::not_found);
  CHECK(!fs::exists(tmp / "lake"));  // reads never create the lake

  put(lake, 7, "present", "here");
  CHECK(!lake.open(7, "missing"));
  CHECK(!lake.open(8, "present"));
  lake.remove_files(7, {"present"}).commit();
  CHECK(!fs::exists(tmp / "lake" / "records" / "7" / "present"));
  CHECK(!fs::exists(tmp / "lake" / "records" / "7"));  // the empty record folder goes too
  CHECK(kind_of([&] { lake.remove_files(7, {"present"}); }) == ErrorKind::not_found);
  CHECK(!lake.stat(7, "present"));
}

TEST_CASE("lake: a publication not committed takes itself back", "[lake]") {
  TempDir tmp;
  DataLake lake(tmp.path());
  {
    StagedFile staged = lake.stage(string_reader("new"));
    auto p = lake.publish(staged, 7, "fresh", false);
    CHECK(slurp(tmp / "records" / "7" / "fresh") == "new");
  }  // not committed: the new file goes
  CHECK(!lake.stat(7, "fresh"));
  put(lake, 7, "kept", "old content");
  const auto before = *lake.stat(7, "kept");
  {
    StagedFile staged = lake.stage(string_reader("replacement"));
    auto p = lake.publish(staged, 7, "kept", true);
    CHECK(slurp(tmp / "records" / "7" / "kept") == "replacement");
  }  // not committed: the replaced file is back, the very same inode
  CHECK(slurp(tmp / "records" / "7" / "kept") == "old content");
  CHECK(lake.stat(7, "kept")->inode == before.inode);
  CHECK(fs::is_empty(tmp / "tmp"));
  {
    StagedFile staged = lake.stage(string_reader("final"));
    auto p = lake.publish(staged, 7, "kept", true);
    p.commit();
  }
  CHECK(slurp(tmp / "records" / "7" / "kept") == "final");
  CHECK(fs::is_empty(tmp / "tmp"));  // the backup link of the replaced file is gone
}

TEST_CASE("lake: a committed replacement of a large file leaves no name and lets go of it",
          "[lake]") {
  TempDir tmp;
  DataLake lake(tmp.path());
  put(lake, 7, "big", std::string(std::size_t{64} << 20, 'o'));
  StagedFile staged = lake.stage(string_reader("new"));
  lake.publish(staged, 7, "big", true).commit();
  CHECK(slurp(tmp / "records" / "7" / "big") == "new");
  CHECK(fs::is_empty(tmp / "tmp"));
  // Freed by a detached process (close_unlinked): soon nobody holds the old file.
  CHECK(eventually([&] { return !deleted_file_held_under(tmp.path()); }));
}

TEST_CASE("lake: a removal is all or nothing and puts files back unless committed", "[lake]") {
  TempDir tmp;
  DataLake lake(tmp.path());
  put(lake, 7, "a", "A");
  put(lake, 7, "b", "B");
  // A missing name refuses the whole removal before anything moves.
  CHECK(kind_of([&] { lake.remove_files(7, {"a", "nope", "b"}); }) == ErrorKind::not_found);
  CHECK(lake.scan(7).size() == 2);
  {
    wfctl::lake::Removal r = lake.remove_files(7, {"a", "b"});
    CHECK(r.names() == std::vector<std::string>{"a", "b"});
    CHECK(lake.scan(7).empty());  // out of sight while the removal is pending
  }  // not committed: both come back, byte for byte
  REQUIRE(lake.scan(7).size() == 2);
  CHECK(slurp(tmp / "records" / "7" / "a") == "A");
  CHECK(slurp(tmp / "records" / "7" / "b") == "B");
  CHECK(fs::is_empty(tmp / "tmp"));
  lake.remove_files(7, {"a"}).commit();
  REQUIRE(lake.scan(7).size() == 1);
  CHECK(lake.scan(7).front().name == "b");
  CHECK(fs::is_empty(tmp / "tmp"));
}

TEST_CASE("lake: files written straight into the lake by another service are visible", "[lake]") {
  TempDir tmp;
  DataLake lake(tmp.path());
  fs::create_directories(tmp / "records" / "7");
  spit(tmp / "records" / "7" / "record-7.dcm", "DICM");
  auto f = lake.stat(7, "record-7.dcm");
  REQUIRE(f);
  CHECK(f->size == 4);
  auto opened = lake.open(7, "record-7.dcm");
  REQUIRE(opened);
  CHECK(read_fd(opened->first.get()) == "DICM");
  CHECK(opened->second.inode == f->inode);
}

TEST_CASE("lake: symlinks out of the lake are refused and nothing is written outside", "[lake]") {
  TempDir tmp;
  TempDir outside;
  DataLake lake(tmp.path());
  spit(outside / "x", "precious");
  const auto outside_before = tree(outside.path());

  SECTION("a symlinked record folder") {
    fs::create_directories(tmp / "records");
    fs::create_directory_symlink(outside.path(), tmp / "records" / "5");
    StagedFile staged = lake.stage(string_reader("evil"));
    for (const bool force : {false, true}) {
      try {
        lake.publish(staged, 5, force ? "x" : "y", force);
        FAIL("publish did not throw");
      } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::permission);
        CHECK_THAT(e.what(), Catch::Contains((tmp / "records" / "5").string()));
        CHECK_THAT(e.what(), Catch::Contains("symbolic link"));
      }
    }
    CHECK(kind_of([&] { lake.stat(5, "x"); }) == ErrorKind::permission);
    CHECK(kind_of([&] { lake.open(5, "x"); }) == ErrorKind::permission);
    CHECK(kind_of([&] { lake.remove_files(5, {"x"}); }) == ErrorKind::permission);
    CHECK(lake.scan(std::nullopt).empty());
  }
  SECTION("a symlinked records folder") {
    fs::create_directory_symlink(outside.path(), tmp / "records");
    StagedFile staged = lake.stage(string_reader("evil"));
    CHECK(kind_of([&] { lake.publish(staged, 5, "x", true); }) == ErrorKind::permission);
    CHECK(kind_of([&] { lake.scan(std::nullopt); }) == ErrorKind::permission);
  }
  SECTION("a symlinked tmp folder") {
    fs::create_directory_symlink(outside.path(), tmp / "tmp");
    CHECK(kind_of([&] { lake.stage(string_reader("evil")); }) == ErrorKind::permission);
  }
  CHECK(tree(outside.path()) == outside_before);
  CHECK(slurp(outside / "x") == "precious");
}

TEST_CASE("lake: a file where a record folder belongs is an error, not a crash", "[lake]") {
  TempDir tmp;
  DataLake lake(tmp.path());
  fs::create_directories(tmp / "records");
  spit(tmp / "records" / "5", "not a folder");
  StagedFile staged = lake.stage(string_reader("x"));
  CHECK(kind_of([&] { lake.publish(staged, 5, "x", false); }) == ErrorKind::internal);
  CHECK(slurp(tmp / "records" / "5") == "not a folder");
}

// ---- util/fs ------------------------------------------------------------------------

TEST_CASE("fs: write_file_atomic creates, replaces and keeps symlinks", "[lake][fs]") {
  TempDir tmp;
  const fs::path cfg = tmp / "conf" / "wfctl" / "config.yaml";
  wfctl::write_file_atomic(cfg, "a: 1\n");
  CHECK(slurp(cfg) == "a: 1\n");
  CHECK((fs::status(cfg).permissions() & fs::perms::mask) ==
        (fs::perms::owner_read | fs::perms::owner_write));

  wfctl::write_file_atomic(cfg, "a: 2\n");
  CHECK(slurp(cfg) == "a: 2\n");
  CHECK(entries(cfg.parent_path()) == std::vector<std::string>{"config.yaml"});

  const fs::path link = tmp / "link.yaml";
  fs::create_symlink(cfg, link);
  wfctl::write_file_atomic(link, "a: 3\n");
  CHECK(fs::is_symlink(link));
  CHECK(slurp(cfg) == "a: 3\n");

  fs::create_directories(tmp / "dir.yaml");
  CHECK(kind_of([&] { wfctl::write_file_atomic(tmp / "dir.yaml", "x"); }) == ErrorKind::usage);  // EISDIR
  CHECK(entries(tmp / "dir.yaml").empty());
}

TEST_CASE("fs: close_unlinked lets go of a large file at once and keeps nothing else open",
          "[lake][fs]") {
  TempDir tmp;
  for (const off_t size :
       {off_t{1} << 20, off_t{64} << 20}) {  // closed here; by a detached process
    INFO("size " << size);
    const fs::path file = tmp / "file";
    allocate(file, size);
    wfctl::UniqueFd held(::open(file.c_str(), O_PATH | O_CLOEXEC));
    REQUIRE(held);
    REQUIRE(::unlink(file.c_str()) == 0);
    int p[2];
    REQUIRE(::pipe(p) == 0);  // stands for the pipe of a caller that reads wfctl's output
    wfctl::UniqueFd rd(p[0]), wr(p[1]);
    wfctl::close_unlinked(std::move(held));
    const std::string self = "/proc/" + std::to_string(::getpid());
    for (const auto& fd : fs::directory_iterator(self + "/fd")) {
      std::error_code ec;
      CHECK(fs::read_symlink(fd.path(), ec).string().rfind(file.string(), 0) != 0);
    }
    // The caller sees the end of the output at once, not when the file is freed.
    wr.reset();
    pollfd pfd{rd.get(), POLLIN, 0};
    CHECK(::poll(&pfd, 1, 5000) == 1);
    char c;
    CHECK(::read(rd.get(), &c, 1) == 0);
    CHECK(eventually([&] { return !deleted_file_held_under(tmp.path()); }));
  }
}

TEST_CASE("fs: AtomicFile replacing a large file lets go of the old one", "[lake][fs]") {
  TempDir tmp;
  allocate(tmp / "out.bin", off_t{64} << 20);
  wfctl::write_file_atomic(tmp / "out.bin", "new");
  CHECK(slurp(tmp / "out.bin") == "new");
  CHECK(entries(tmp.path()) == std::vector<std::string>{"out.bin"});
  CHECK(eventually([&] { return !deleted_file_held_under(tmp.path()); }));
}

TEST_CASE("fs: errno errors name the file and map to kinds", "[lake][fs]") {
  CHECK(wfctl::error_kind_for_errno(ENOENT) == ErrorKind::not_found);
  CHECK(wfctl::error_kind_for_errno(EACCES) == ErrorKind::permission);
  CHECK(wfctl::error_kind_for_errno(EPERM) == ErrorKind::permission);
  CHECK(wfctl::error_kind_for_errno(EROFS) == ErrorKind::permission);
  CHECK(wfctl::error_kind_for_errno(ENOSPC) == ErrorKind::unavailable);
  CHECK(wfctl::error_kind_for_errno(EIO) == ErrorKind::unavailable);
  CHECK(wfctl::error_kind_for_errno(EBADF) == ErrorKind::internal);
  CHECK(wfctl::error_kind_for_errno(ENOTDIR) == ErrorKind::usage);
  CHECK(wfctl::error_kind_for_errno(EISDIR) == ErrorKind::usage);
  CHECK(wfctl::error_kind_for_errno(ELOOP) == ErrorKind::usage);
  CHECK(wfctl::error_kind_for_errno(EEXIST) == ErrorKind::conflict);
  CHECK(wfctl::error_kind_for_errno(EDQUOT) == ErrorKind::unavailable);
  CHECK(wfctl::error_kind_for_errno(EINTR) == ErrorKind::interrupted);

  TempDir tmp;
  try {
    wfctl::fsync_dir(tmp / "missing");
    FAIL("fsync_dir did not throw");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::not_found);
    CHECK(std::string(e.what()) ==
          "cannot open directory " + (tmp / "missing").string() + ": No such file or directory");
  }
  try {
    char c;
    wfctl::read_some(-1, &c, 1, "input.npy");
    FAIL("read_some did not throw");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "cannot read input.npy: Bad file descriptor");
  }
}

TEST_CASE("fs: fd_reader and fd_writer move bytes through a pipe", "[lake][fs]") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  wfctl::UniqueFd r(p[0]), w(p[1]);
  wfctl::fd_writer(w.get())("hello", 5);
  w.reset();
  const auto reader = wfctl::fd_reader(r.get());
  char buf[16];
  CHECK(reader(buf, sizeof buf) == 5);
  CHECK(std::string(buf, 5) == "hello");
  CHECK(reader(buf, sizeof buf) == 0);
}
