#include <catch2/catch.hpp>
#include <string>
#include <wfctl/util/sha256.hpp>

using wfctl::Sha256;
using wfctl::sha256_hex;

TEST_CASE("sha256 of the FIPS 180-2 vectors", "[sha256]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1'000'000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 fed in uneven pieces equals the one-shot digest", "[sha256]") {
  const std::string million(1'000'000, 'a');
  Sha256 h;
  std::size_t pos = 0;
  for (std::size_t step = 1; pos < million.size(); step = step * 3 % 65'521 + 1) {
    const std::size_t n = std::min(step, million.size() - pos);
    h.update(million.data() + pos, n);
    pos += n;
  }
  h.update(nullptr, 0);
  CHECK(h.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 hex_digest can be taken midway and hashing continues", "[sha256]") {
  Sha256 h;
  CHECK(h.hex_digest() == sha256_hex(""));
  h.update("ab", 2);
  CHECK(h.hex_digest() == sha256_hex("ab"));
  h.update("c", 1);
  CHECK(h.hex_digest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  Sha256 moved = std::move(h);
  moved.update("d", 1);
  CHECK(moved.hex_digest() == sha256_hex("abcd"));
}
