#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include "expect_error.hpp"
#include <fstream>
#include <functional>
#include <random>
#include <wfctl/error.hpp>
#include <wfctl/util/appender.hpp>
#include <wfctl/util/copy.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/sha256.hpp>

#include "temp_dir.hpp"

using namespace wfctl;
namespace fs = std::filesystem;

namespace {
std::string random_bytes(std::size_t n) {
  std::mt19937_64 gen(42);
  std::string s(n, '\0');
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    const std::uint64_t v = gen();
    std::memcpy(s.data() + i, &v, 8);
  }
  for (std::size_t i = n / 8 * 8; i < n; ++i) s[i] = static_cast<char>(gen());
  return s;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void spit(const fs::path& p, std::string_view data) {
  std::ofstream(p, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
}

// Sizes around the O_DIRECT block (4096), the one-thread limit (4 MiB), the 8 MiB windows and
// more windows than are mapped at once (5), each with an unaligned tail where it can have one.
const std::vector<std::size_t> k_sizes = {
    0, 1, 4095, 4096, 4097, (4u << 20), (4u << 20) + 1, (9u << 20) + 1, (41u << 20) + 4097};

struct Outcome {
  Copied copied;
  std::vector<std::uint64_t> progress;
  int out_flags = 0;
  off_t out_pos = 0;
};

// Copies `data` from a file in `dir` to a new file there with copy_file_hashed.
Outcome copy_in(const fs::path& dir, std::string_view data) {
  spit(dir / "src", data);
  UniqueFd in(::open((dir / "src").c_str(), O_RDONLY | O_CLOEXEC));
  UniqueFd out(::open((dir / "dst").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  REQUIRE(in);
  REQUIRE(out);
  Outcome o;
  o.copied = copy_file_hashed(in.get(), out.get(), "src",
                              [&](std::uint64_t done) { o.progress.push_back(done); });
  o.out_flags = ::fcntl(out.get(), F_GETFL);
  o.out_pos = ::lseek(out.get(), 0, SEEK_CUR);
  return o;
}

void check_copy(const fs::path& dir, std::string_view data) {
  INFO("size " << data.size() << " in " << dir.string());
  const Outcome o = copy_in(dir, data);
  CHECK(o.copied.size == data.size());
  CHECK(o.copied.sha256 == sha256_hex(data));
  CHECK(slurp(dir / "dst") == data);
  CHECK(o.out_pos == static_cast<off_t>(data.size()));
  CHECK((o.out_flags & O_DIRECT) == 0);  // the descriptor is handed back as it came
  // Progress only grows and ends at the size.
  for (std::size_t i = 1; i < o.progress.size(); ++i) CHECK(o.progress[i] > o.progress[i - 1]);
  if (!data.empty()) {
    REQUIRE(!o.progress.empty());
    CHECK(o.progress.back() == data.size());
  }
}

// How many pages of `path` are in the page cache.
std::size_t cached_pages(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  REQUIRE(::fstat(fd.get(), &st) == 0);
  const auto size = static_cast<std::size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0);
  REQUIRE(p != MAP_FAILED);
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec((size + page - 1) / page);
  REQUIRE(::mincore(p, size, vec.data()) == 0);
  ::munmap(p, size);
  return static_cast<std::size_t>(
      std::count_if(vec.begin(), vec.end(), [](unsigned char c) { return c & 1; }));
}

// Runs `body` in a child process, in a mount namespace of its own with a file system of `type`
// (by default a ramfs, which has no O_DIRECT; mounted with `options`) on `dir`; returns the
// child's exit status, or -1 when this machine gives no namespace (an unprivileged container).
int in_mount(const fs::path& dir, const std::function<int()>& body, const char* type = "ramfs",
             const char* options = nullptr) {
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child has one thread, so it may unshare; it leaves by _exit, never through Catch.
    if (::unshare(uid == 0 ? CLONE_NEWNS : CLONE_NEWUSER | CLONE_NEWNS) != 0) ::_exit(77);
    if (uid != 0) {
      spit("/proc/self/setgroups", "deny");
      spit("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1");
      spit("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
    }
    // Private first, so that the mount does not propagate to the namespace of everyone else.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(77);
    if (::mount(type, dir.c_str(), type, 0, options) != 0) ::_exit(77);
    int status = 1;
    try {
      status = body();
    } catch (...) {
      status = 2;
    }
    ::_exit(status);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status) == 77 ? -1 : WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("copy_file_hashed copies and hashes every size, on disk and on tmpfs", "[copy]") {
  const std::string data = random_bytes(k_sizes.back());
  std::vector<fs::path> parents = {fs::temp_directory_path()};
  if (fs::is_directory("/dev/shm"))
    parents.push_back("/dev/shm");  // tmpfs: O_DIRECT only since Linux 6.6
  for (const auto& parent : parents) {
    test::TempDir dir(parent);
    for (std::size_t size : k_sizes) check_copy(dir.path(), std::string_view(data).substr(0, size));
  }
}

TEST_CASE("copy_file_hashed writes past the page cache where the file system allows", "[copy]") {
  test::TempDir dir;
  struct statfs sfs {};
  REQUIRE(::statfs(dir.path().c_str(), &sfs) == 0);
  if (sfs.f_type != 0xEF53) {  // EXT4_SUPER_MAGIC: known to take O_DIRECT
    WARN("the temporary directory is not on ext4: O_DIRECT not checked");
    return;
  }
  const std::string data = random_bytes((41u << 20) + 4097);
  const Outcome o = copy_in(dir.path(), data);
  // Written with O_DIRECT, the copy's pages never entered the cache, except the tail's.
  CHECK(cached_pages(dir / "dst") <= 1);
  CHECK(o.copied.sha256 == sha256_hex(data));
  CHECK(slurp(dir / "dst") == data);
}

TEST_CASE("copy_file_hashed writes through the page cache where O_DIRECT is refused", "[copy]") {
  test::TempDir dir;
  const std::string data = random_bytes(k_sizes.back());
  const int status = in_mount(dir.path(), [&] {
    // The test means something only if this file system refuses O_DIRECT.
    UniqueFd probe(::open((dir / "probe").c_str(), O_WRONLY | O_CREAT | O_DIRECT, 0600));
    if (probe || errno != EINVAL) return 3;
    for (std::size_t size : k_sizes) {
      const std::string_view part = std::string_view(data).substr(0, size);
      const Outcome o = copy_in(dir.path(), part);
      if (o.copied.size != size || o.copied.sha256 != sha256_hex(part) ||
          slurp(dir / "dst") != part || o.out_pos != static_cast<off_t>(size))
        return 10;
    }
    return 0;
  });
  if (status == -1) {
    WARN("no mount namespace here: the ramfs fallback is not tested");
    return;
  }
  CHECK(status == 0);
}

TEST_CASE("copy_file_hashed stops at once when after_chunk throws", "[copy]") {
  test::TempDir dir;
  const std::size_t size = 64u << 20;
  spit(dir / "src", random_bytes(size));
  UniqueFd in(::open((dir / "src").c_str(), O_RDONLY));
  UniqueFd out(::open((dir / "dst").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600));
  int calls = 0;
  try {
    copy_file_hashed(in.get(), out.get(), "src", [&](std::uint64_t) {
      ++calls;
      throw Error(ErrorKind::interrupted, "interrupted");
    });
    FAIL("the copy did not stop");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::interrupted);
  }
  CHECK(calls == 1);
  CHECK((::fcntl(out.get(), F_GETFL) & O_DIRECT) == 0);
  // It did not write on to the end. The file was allocated whole up front, but on ext4 the
  // blocks never written read as a hole.
  struct statfs sfs {};
  REQUIRE(::fstatfs(out.get(), &sfs) == 0);
  if (sfs.f_type == 0xEF53) {
    const off_t data = ::lseek(out.get(), 0, SEEK_DATA);
    const off_t hole = data < 0 ? 0 : ::lseek(out.get(), data, SEEK_HOLE);
    CHECK(hole < static_cast<off_t>(size));
  }
}

TEST_CASE("copy_file_hashed refuses a source that grows or shrinks meanwhile, without a crash",
          "[copy]") {
  // A shrinking source pulls pages from under the mappings: the writer gets EFAULT, the hash
  // SIGBUS, and either must end as this conflict.
  for (const bool grow : {true, false}) {
    INFO((grow ? "growing" : "shrinking"));
    test::TempDir dir;
    const std::size_t size = 64u << 20;
    spit(dir / "src", random_bytes(size));
    UniqueFd in(::open((dir / "src").c_str(), O_RDONLY));
    UniqueFd out(::open((dir / "dst").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600));
    bool changed = false;
    try {
      copy_file_hashed(in.get(), out.get(), "src", [&](std::uint64_t) {
        if (changed) return;
        changed = true;
        if (grow) {
          std::ofstream(dir / "src", std::ios::binary | std::ios::app) << "more";
        } else {
          REQUIRE(::truncate((dir / "src").c_str(), 1 << 20) == 0);
        }
      });
      FAIL("the change went unnoticed");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::conflict);
      CHECK(std::string(e.what()) == "src changed while it was being copied");
    }
    CHECK(changed);
  }
}

TEST_CASE("copy_file_hashed writes into a pipe too", "[copy]") {
  test::TempDir dir;
  const std::string data = random_bytes(100000);
  spit(dir / "src", data);
  UniqueFd in(::open((dir / "src").c_str(), O_RDONLY));
  int p[2];
  REQUIRE(::pipe(p) == 0);
  UniqueFd rd(p[0]), wr(p[1]);
  REQUIRE(::fcntl(wr.get(), F_SETPIPE_SZ, 1 << 20) > 0);
  auto copied = copy_file_hashed(in.get(), wr.get(), "src");
  CHECK(copied.sha256 == sha256_hex(data));
  CHECK((::fcntl(wr.get(), F_GETFL) & O_DIRECT) == 0);  // O_DIRECT would make it a packet pipe
  wr.reset();
  std::string got(data.size() + 1, '\0');
  std::size_t n = 0;
  while (std::size_t k = read_some(rd.get(), got.data() + n, got.size() - n)) n += k;
  got.resize(n);
  CHECK(got == data);
}

TEST_CASE("copy_file_hashed streams what has no size, such as /proc files", "[copy]") {
  test::TempDir dir;
  UniqueFd in(::open("/proc/self/status", O_RDONLY));
  UniqueFd out(::open((dir / "dst").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600));
  REQUIRE(in);
  auto copied = copy_file_hashed(in.get(), out.get(), "status");
  CHECK(copied.size > 0);
  CHECK(copied.size == slurp(dir / "dst").size());
  CHECK(copied.sha256 == sha256_hex(slurp(dir / "dst")));
}

TEST_CASE("copy_hashed streams a reader to a writer and stops when told", "[copy]") {
  const std::string data = random_bytes((2u << 20) + 1);
  std::size_t pos = 0;
  ReadFn reader = [&](char* buf, std::size_t cap) {
    std::size_t n = std::min<std::size_t>(cap, std::min<std::size_t>(70000, data.size() - pos));
    std::copy_n(data.data() + pos, n, buf);
    pos += n;
    return n;
  };
  std::string sink;
  auto copied = copy_hashed(reader, [&](const char* p, std::size_t n) { sink.append(p, n); });
  CHECK(sink == data);
  CHECK(copied.sha256 == sha256_hex(data));

  pos = 0;
  test::error_of(ErrorKind::interrupted, [&] {
    copy_hashed(reader, [](const char*, std::size_t) {},
                [](std::uint64_t) { throw Error(ErrorKind::interrupted, "interrupted"); });
  });
}

namespace {

struct Appended {
  Copied copied;
  int flags = 0;
  off_t pos = 0;
};

// Appends `data` to a new file `dst` in `dir` with Appender, in pieces of `piece` bytes.
Appended append_in(const fs::path& dir, std::string_view data, std::size_t piece) {
  UniqueFd out(::open((dir / "dst").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  REQUIRE(out);
  Appender app(out.get(), "dst");
  for (std::size_t i = 0; i < data.size(); i += piece) {
    const std::size_t n = std::min(piece, data.size() - i);
    app.append(data.data() + i, n);
    REQUIRE(app.size() == i + n);
  }
  Appended a;
  a.copied = app.finish();
  a.flags = ::fcntl(out.get(), F_GETFL);
  a.pos = ::lseek(out.get(), 0, SEEK_CUR);
  return a;
}

// Every size of k_sizes, each in pieces of several sizes (a byte, less than a page, an
// HTTP chunk, more than a block), written and hashed exactly.
bool appends_every_size(const fs::path& dir, const std::string& data) {
  bool ok = true;
  for (std::size_t size : k_sizes) {
    const std::string_view part = std::string_view(data).substr(0, size);
    for (std::size_t piece : {std::size_t{4095}, std::size_t{256} << 10, (std::size_t{5} << 20) + 3}) {
      if (size > (1u << 20) && piece < 4096) continue;  // a byte-sized loop adds nothing there
      INFO("size " << size << ", pieces of " << piece << " in " << dir.string());
      const Appended a = append_in(dir, part, piece);
      const bool good = a.copied.size == size && a.copied.sha256 == sha256_hex(part) &&
                        slurp(dir / "dst") == part && a.pos == static_cast<off_t>(size) &&
                        (a.flags & O_DIRECT) == 0;
      CHECK(good);
      ok = ok && good;
    }
  }
  const Appended tiny = append_in(dir, "abc", 1);
  ok = ok && tiny.copied.sha256 == sha256_hex("abc") && slurp(dir / "dst") == "abc";
  return ok;
}

}  // namespace

TEST_CASE("Appender writes and hashes a stream of pieces, on disk and on tmpfs", "[copy]") {
  const std::string data = random_bytes(k_sizes.back());
  std::vector<fs::path> parents = {fs::temp_directory_path()};
  if (fs::is_directory("/dev/shm")) parents.push_back("/dev/shm");
  for (const auto& parent : parents) {
    test::TempDir dir(parent);
    CHECK(appends_every_size(dir.path(), data));
  }
}

TEST_CASE("Appender writes past the page cache where the file system allows", "[copy]") {
  test::TempDir dir;
  struct statfs sfs {};
  REQUIRE(::statfs(dir.path().c_str(), &sfs) == 0);
  if (sfs.f_type != 0xEF53) {
    WARN("the temporary directory is not on ext4: O_DIRECT not checked");
    return;
  }
  const std::string data = random_bytes((41u << 20) + 4097);
  const Appended a = append_in(dir.path(), data, 256u << 10);
  CHECK(cached_pages(dir / "dst") <= 1);  // the unaligned tail's page at most
  CHECK(a.copied.sha256 == sha256_hex(data));
  CHECK(slurp(dir / "dst") == data);
}

TEST_CASE("Appender writes through the page cache where O_DIRECT is refused", "[copy]") {
  test::TempDir dir;
  const std::string data = random_bytes(k_sizes.back());
  const int status = in_mount(dir.path(), [&] {
    UniqueFd probe(::open((dir / "probe").c_str(), O_WRONLY | O_CREAT | O_DIRECT, 0600));
    if (probe || errno != EINVAL) return 3;
    return appends_every_size(dir.path(), data) ? 0 : 10;
  });
  if (status == -1) {
    WARN("no mount namespace here: the ramfs fallback is not tested");
    return;
  }
  CHECK(status == 0);
}

TEST_CASE("Appender reports a full disk from append or finish, and stops", "[copy]") {
  test::TempDir dir;
  const std::string data = random_bytes(24u << 20);
  const int status = in_mount(
      dir.path(),
      [&] {
        UniqueFd out(::open((dir / "dst").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600));
        Appender app(out.get(), "dst");
        try {
          for (std::size_t i = 0; i < data.size(); i += 1u << 20) app.append(data.data() + i, 1u << 20);
          app.finish();
          return 10;  // 24 MiB fitted into 8
        } catch (const Error& e) {
          if (e.kind() != ErrorKind::unavailable ||
              std::string(e.what()).find("No space left") == std::string::npos)
            return 11;
        }
        try {
          app.append(data.data(), 1u << 20);
          app.append(data.data(), 4u << 20);
          return 12;  // went on after the failure
        } catch (const Error&) {
        }
        return 0;
      },
      "tmpfs", "size=8m");
  if (status == -1) {
    WARN("no mount namespace here: a full disk is not tested");
    return;
  }
  CHECK(status == 0);
}

TEST_CASE("Appender writes an O_APPEND descriptor in order", "[copy]") {
  test::TempDir dir;
  const std::string data = random_bytes((13u << 20) + 5);
  UniqueFd out(::open((dir / "dst").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  REQUIRE(out);
  Appender app(out.get(), "dst");
  for (std::size_t i = 0; i < data.size(); i += 300000) app.append(data.data() + i, std::min<std::size_t>(300000, data.size() - i));
  CHECK(app.finish().sha256 == sha256_hex(data));
  CHECK(slurp(dir / "dst") == data);
}

TEST_CASE("Appender let go mid-stream stops its threads", "[copy]") {
  test::TempDir dir;
  const std::string data = random_bytes(1u << 20);
  UniqueFd out(::open((dir / "dst").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600));
  {
    Appender app(out.get(), "dst");
    for (int i = 0; i < 30; ++i) app.append(data.data(), data.size());
    Appender moved = std::move(app);  // a Staging moves it around
    moved.append(data.data(), 7);
    CHECK(moved.size() == (30u << 20) + 7);
  }  // no finish: joined here, without a hang or a crash
  CHECK((::fcntl(out.get(), F_GETFL) & O_DIRECT) == 0);
}
