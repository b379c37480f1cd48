#include <catch2/catch.hpp>
#include <string>
#include <wfctl/server/answer_cache.hpp>

using wfctl::StoreVersion;
using wfctl::server::AnswerCache;

namespace {
StoreVersion version(std::uint64_t n) {
  StoreVersion v;
  v.words[7] = n;
  return v;
}
}  // namespace

TEST_CASE("kept answers are given for their store version only, and another version's answer replaces them") {
  AnswerCache cache;
  std::string body = "untouched";
  CHECK_FALSE(cache.find(1, version(1), body));
  cache.keep(1, version(1), "one");
  cache.keep(2, version(1), "two");
  CHECK(cache.find(1, version(1), body));
  CHECK(body == "one");
  CHECK(cache.find(2, version(1), body));
  CHECK(body == "two");
  body = "untouched";
  CHECK_FALSE(cache.find(1, version(2), body));  // the store moved on
  CHECK(body == "untouched");
  CHECK_FALSE(cache.find(3, version(1), body));

  cache.keep(1, version(2), "one, later");
  CHECK(cache.size() == 1);
  CHECK_FALSE(cache.find(2, version(1), body));  // dropped with its version
  CHECK(cache.find(1, version(2), body));
  CHECK(body == "one, later");
  cache.keep(1, version(2), "one, again");  // kept again for the same version
  CHECK(cache.find(1, version(2), body));
  CHECK(body == "one, again");
  CHECK(cache.size() == 1);
}

TEST_CASE("the answer cache stays within its bounds of answers and bytes, dropping as few as it must") {
  AnswerCache cache(3, 10);
  std::string body;
  for (int i = 0; i < 3; ++i) cache.keep(i, version(1), "ab");
  CHECK(cache.size() == 3);
  cache.keep(3, version(1), "cd");  // a fourth answer: one other goes
  CHECK(cache.size() == 3);
  CHECK(cache.find(3, version(1), body));
  CHECK(body == "cd");
  cache.keep(3, version(1), "123456");  // kept again: its old bytes no longer count (2+2+6)
  CHECK(cache.size() == 3);
  CHECK(cache.find(3, version(1), body));
  CHECK(body == "123456");
  cache.keep(4, version(1), "123456789");  // 9 bytes: only room for itself
  CHECK(cache.size() == 1);
  CHECK(cache.find(4, version(1), body));
  cache.keep(5, version(1), "this is longer than ten");  // never kept, and drops nothing
  CHECK(cache.size() == 1);
  CHECK_FALSE(cache.find(5, version(1), body));
  CHECK(cache.find(4, version(1), body));
  CHECK(body == "123456789");
}
