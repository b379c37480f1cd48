#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <wfctl/server/log_writer.hpp>

using wfctl::server::LogWriter;

// Four threads log at once, past the 64 KiB that makes a writer write out, for longer than the
// background thread's 100 ms tick: both write out while the others append. Every line comes
// out once, whole, and each thread's lines in order. Under ThreadSanitizer (scripts/tsan.sh)
// this also checks that the two locks are never taken in both orders: the buffer's then the
// output's (the tick), and the output's then the buffer's (the old write_out, which deadlocked
// `wfctl serve` under wrk).
TEST_CASE("the access log writes every line once, whole and in order, from many threads", "[threads]") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out);
  constexpr int k_threads = 4, k_lines = 20000;
  {
    LogWriter log({}, out);
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
      threads.emplace_back([&log, t] {
        for (int n = 0; n < k_lines; ++n) {
          log.line("wfctl serve: 127.0.0.1 GET \"/api/v1/workflow/" + std::to_string(t) + "\" 200 " +
                   std::to_string(n));
          if (n % 1000 == 999) std::this_thread::sleep_for(std::chrono::milliseconds(8));
        }
      });
    }
    for (auto& th : threads) th.join();
  }  // the rest is written out here
  std::rewind(out);
  std::string text;
  char buf[65536];
  while (std::size_t k = std::fread(buf, 1, sizeof buf, out)) text.append(buf, k);
  std::fclose(out);

  std::map<int, int> next;  // thread -> the number its next line must carry
  std::istringstream in(text);
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    int t = -1, n = -1;
    REQUIRE(std::sscanf(line.c_str(), "wfctl serve: 127.0.0.1 GET \"/api/v1/workflow/%d\" 200 %d", &t, &n) == 2);
    REQUIRE(n == next[t]);
    ++next[t];
    ++count;
  }
  CHECK(count == k_threads * k_lines);
  CHECK(!text.empty());
  CHECK(text.back() == '\n');
}
