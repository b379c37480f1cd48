#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "expect_error.hpp"
#include <fstream>
#include <random>
#include <wfctl/error.hpp>
#include <wfctl/util/copy.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/sha256.hpp>

#include "temp_dir.hpp"

using namespace wfctl;

namespace {
std::string random_bytes(std::size_t n) {
  std::mt19937 gen(42);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
}  // namespace

TEST_CASE("copy_file_hashed copies in the kernel and hashes the same bytes", "[copy]") {
  test::TempDir dir;
  const std::string data = random_bytes((3u << 20) + 12345);  // several hash buffers and a tail
  std::ofstream(dir / "src", std::ios::binary) << data;
  UniqueFd in(::open((dir / "src").c_str(), O_RDONLY));
  UniqueFd out(::open((dir / "dst").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600));
  std::uint64_t last = 0;
  int chunks = 0;
  auto copied = copy_file_hashed(in.get(), out.get(), "src", [&](std::uint64_t done) {
    CHECK(done > last);
    last = done;
    ++chunks;
  });
  CHECK(copied.size == data.size());
  CHECK(copied.sha256 == sha256_hex(data));
  CHECK(last == data.size());
  CHECK(chunks >= 1);
  CHECK(slurp(dir / "dst") == data);
}

TEST_CASE("copy_file_hashed falls back to user space when the kernel cannot copy", "[copy]") {
  test::TempDir dir;
  const std::string data = random_bytes(100000);
  std::ofstream(dir / "src", std::ios::binary) << data;
  UniqueFd in(::open((dir / "src").c_str(), O_RDONLY));
  int p[2];
  REQUIRE(::pipe(p) == 0);  // copy_file_range refuses pipes
  UniqueFd rd(p[0]), wr(p[1]);
  REQUIRE(::fcntl(wr.get(), F_SETPIPE_SZ, 1 << 20) > 0);
  auto copied = copy_file_hashed(in.get(), wr.get(), "src");
  CHECK(copied.sha256 == sha256_hex(data));
  wr.reset();
  std::string got(data.size() + 1, '\0');
  std::size_t n = 0;
  while (std::size_t k = read_some(rd.get(), got.data() + n, got.size() - n)) n += k;
  got.resize(n);
  CHECK(got == data);
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
