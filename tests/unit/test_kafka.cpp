// The Kafka transport against real parts: a librdkafka mock cluster in its own process
// (wfctl_kafka_mock) and Debian's kcat as an independent client on the other end.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>
#include <wfctl/error.hpp>
#include <wfctl/jobs/transport.hpp>

#include "expect_error.hpp"
#include "temp_dir.hpp"

extern char** environ;

using namespace wfctl;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A wfctl_kafka_mock process: its bootstrap address, and `down` / `up` commands.
class MockCluster {
 public:
  explicit MockCluster(std::vector<std::string> args = {}) {
    int in[2], out[2];
    REQUIRE(pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    args.insert(args.begin(), WFCTL_KAFKA_MOCK_BIN);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE(posix_spawn(&m_pid, WFCTL_KAFKA_MOCK_BIN, &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    m_in = fdopen(in[1], "w");
    m_out = fdopen(out[0], "r");
    m_address = line();
    REQUIRE(m_address.find("127.0.0.1:") != std::string::npos);
  }
  ~MockCluster() {
    fclose(m_in);  // EOF: the mock exits
    int status = 0;
    waitpid(m_pid, &status, 0);
    fclose(m_out);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  const std::string& address() const { return m_address; }
  void command(const std::string& c) {
    std::fprintf(m_in, "%s\n", c.c_str());
    std::fflush(m_in);
    REQUIRE(line() == "ok");
  }

 private:
  std::string line() {
    char buf[1024];
    REQUIRE(std::fgets(buf, sizeof buf, m_out));
    std::string s = buf;
    if (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }
  pid_t m_pid = -1;
  FILE* m_in = nullptr;
  FILE* m_out = nullptr;
  std::string m_address;
};

// Every message of `topic` as kcat -J prints it (key, payload, partition, offset).
std::vector<nlohmann::json> kcat_read(const std::string& address, const std::string& topic) {
  auto cmd = "kcat -q -C -b " + address + " -t " + topic + " -o beginning -e -J";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::vector<nlohmann::json> out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) out.push_back(nlohmann::json::parse(buf));
  REQUIRE(pclose(p) == 0);
  return out;
}

// Produces each line as one message with kcat -P (no key).
void kcat_write(const std::string& address, const std::string& topic,
                const std::vector<std::string>& lines) {
  auto cmd = "kcat -q -P -b " + address + " -t " + topic + " -X acks=all";
  FILE* p = popen(cmd.c_str(), "w");
  REQUIRE(p);
  for (const auto& l : lines) std::fprintf(p, "%s\n", l.c_str());
  REQUIRE(pclose(p) == 0);
}

TransportOptions kafka_options(const std::string& brokers) {
  TransportOptions o;
  o.kind = "kafka";
  o.brokers = brokers;
  return o;
}

Job job(JobId id, RecordId record, std::string topic = std::string(k_default_topic)) {
  Job j;
  j.id = id;
  j.topic = std::move(topic);
  j.record_id = record;
  j.input = "records/" + std::to_string(record) + "/kspace.npy";
  return j;
}

// Polls until `count` messages came (or 30 s passed).
std::vector<TransportMessage> poll_n(Subscription& sub, size_t count) {
  std::vector<TransportMessage> got;
  auto deadline = Clock::now() + 30s;
  while (got.size() < count && Clock::now() < deadline)
    if (auto m = sub.poll(200ms)) got.push_back(*m);
  return got;
}

// Polls, marking each message done, until at_end() (or 30 s passed).
std::vector<TransportMessage> drain(Subscription& sub) {
  std::vector<TransportMessage> got;
  auto deadline = Clock::now() + 30s;
  while (!sub.at_end() && Clock::now() < deadline) {
    if (auto m = sub.poll(200ms)) {
      got.push_back(*m);
      sub.done(*m);
    }
  }
  return got;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

TEST_CASE("kafka: a published job is the reference's message, with no key", "[kafka]") {
  MockCluster cluster;
  auto options = kafka_options(cluster.address());
  auto transport = open_transport(options);
  CHECK(transport->external());
  CHECK(transport->describe() == "kafka brokers " + cluster.address());
  transport->publish(job(1, 7), Cancel());

  auto got = kcat_read(cluster.address(), "mri_cartesian_reco");
  REQUIRE(got.size() == 1);
  CHECK(got[0]["key"].is_null());
  CHECK(got[0]["payload"] == R"({"record_id": 7, "input": "records/7/kspace.npy"})");

  SECTION("with a prefix, the topic is prefix + topic") {
    options.topic_prefix = "site-a.";
    auto prefixed = open_transport(options);
    prefixed->publish(job(2, 8), Cancel());
    auto p = kcat_read(cluster.address(), "site-a.mri_cartesian_reco");
    REQUIRE(p.size() == 1);
    CHECK(p[0]["key"].is_null());
    CHECK(p[0]["payload"] == R"({"record_id": 8, "input": "records/8/kspace.npy"})");
    CHECK(kcat_read(cluster.address(), "mri_cartesian_reco").size() == 1);
  }
}

TEST_CASE("kafka: describe names the brokers without schemes or credentials", "[kafka]") {
  auto t = open_transport(kafka_options("SASL_SSL://user:s3cret@kafka1:9092, kafka2:9093"));
  CHECK(t->describe() == "kafka brokers kafka1:9092,kafka2:9093");
}

TEST_CASE("kafka: concurrent publishes through one transport are each acknowledged", "[kafka]") {
  MockCluster cluster;
  auto transport = open_transport(kafka_options(cluster.address()));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) transport->publish(job(t * 100 + i, t * 100 + i), Cancel());
    });
  for (auto& th : threads) th.join();
  auto got = kcat_read(cluster.address(), "mri_cartesian_reco");
  std::set<std::string> values;
  for (const auto& m : got) values.insert(m["payload"].get<std::string>());
  CHECK(values.size() == 100);
  CHECK(values.count(R"({"record_id": 324, "input": "records/324/kspace.npy"})") == 1);
}

TEST_CASE("kafka: a subscription receives what kcat produced, values unchanged", "[kafka]") {
  auto partitions = GENERATE(1, 3);
  MockCluster cluster(
      {"--topic", "pre.mri_cartesian_reco", "--partitions", std::to_string(partitions)});
  std::vector<std::string> lines = {R"({"record_id": 1, "input": "records/1/kspace.npy"})",
                                    "not json",
                                    R"({"record_id": 2, "input": "records/2/k space.npy"})"};
  kcat_write(cluster.address(), "pre.mri_cartesian_reco", lines);

  auto options = kafka_options(cluster.address());
  options.topic_prefix = "pre.";
  options.group = "workers";
  auto sub = open_transport(options)->subscribe({"mri_cartesian_reco"});
  CHECK_FALSE(sub->at_end());
  auto got = drain(*sub);
  CHECK(sub->at_end());
  std::multiset<std::string> values;
  for (const auto& m : got) {
    CHECK(m.topic == "mri_cartesian_reco");
    CHECK(m.partition >= 0);
    CHECK(m.partition < partitions);
    values.insert(m.value);
  }
  CHECK(values == std::multiset<std::string>(lines.begin(), lines.end()));
  // Nothing more comes, and the end stays the end.
  CHECK_FALSE(sub->poll(300ms));
  CHECK(sub->at_end());
}

TEST_CASE("kafka: only contiguous done messages are committed", "[kafka]") {
  MockCluster cluster({"--topic", "mri_cartesian_reco", "--partitions", "1"});
  std::vector<std::string> lines;
  for (int i = 0; i < 5; ++i) lines.push_back(R"({"record_id": )" + std::to_string(i) + "}");
  kcat_write(cluster.address(), "mri_cartesian_reco", lines);
  // librdkafka's mock coordinator lets a new member join only once the session of the one
  // that left timed out, even after its LeaveGroup (a real broker does not wait): a short
  // session, through a properties file, keeps each round to a few seconds.
  test::TempDir dir;
  auto props = (dir / "session.properties").string();
  std::ofstream(props) << "session.timeout.ms=6000\nheartbeat.interval.ms=500\n";
  auto options = kafka_options(cluster.address());
  options.group = "g1";
  options.config_file = props;
  auto transport = open_transport(options);
  {
    auto sub = transport->subscribe({"mri_cartesian_reco"});
    auto got = poll_n(*sub, 5);
    REQUIRE(got.size() == 5);
    for (int i = 0; i < 5; ++i) {
      CHECK(got[i].offset == i);
      CHECK(got[i].value == lines[i]);
    }
    // Out of order, with a gap at 2: only 0 and 1 may be committed.
    sub->done(got[3]);
    sub->done(got[1]);
    sub->done(got[0]);
    CHECK_FALSE(sub->at_end());  // 2 and 4 are outstanding
  }
  {
    auto again = transport->subscribe({"mri_cartesian_reco"});
    auto got = drain(*again);
    CHECK(again->at_end());
    std::set<std::int64_t> offsets;
    for (const auto& m : got) offsets.insert(m.offset);
    CHECK(offsets == std::set<std::int64_t>{2, 3, 4});
  }
  {
    auto other_options = options;
    other_options.group = "g2";
    auto other = open_transport(other_options)->subscribe({"mri_cartesian_reco"});
    CHECK(drain(*other).size() == 5);
  }
  {
    // g1 finished everything in the second round: nothing is delivered a third time.
    auto third = transport->subscribe({"mri_cartesian_reco"});
    CHECK(drain(*third).empty());
    CHECK(third->at_end());
  }
}

TEST_CASE("kafka: a broker that cannot be reached is unavailable within the timeout", "[kafka]") {
  auto options = kafka_options("127.0.0.1:1");
  options.timeout = 1500ms;
  auto transport = open_transport(options);
  auto start = Clock::now();
  auto message =
      test::error_of(ErrorKind::unavailable, [&] { transport->publish(job(3, 7), Cancel()); });
  CHECK(seconds_since(start) >= 1.4);
  CHECK(seconds_since(start) < 5);
  CHECK_THAT(message, Catch::Contains("kafka brokers 127.0.0.1:1 did not acknowledge job 3 "
                                      "within 1.5s"));
  CHECK_THAT(message, Catch::Contains("timed out"));
}

TEST_CASE("kafka: a mock cluster that went down is unavailable, and acknowledges again once up",
          "[kafka]") {
  MockCluster cluster;
  auto options = kafka_options(cluster.address());
  options.timeout = 2000ms;
  auto transport = open_transport(options);
  transport->publish(job(1, 1), Cancel());
  cluster.command("down");
  auto start = Clock::now();
  test::error_of(ErrorKind::unavailable, [&] { transport->publish(job(2, 2), Cancel()); });
  CHECK(seconds_since(start) < 6);
  cluster.command("up");
  // Reconnecting backs off up to reconnect.backoff.max.ms (10 s): allow a few tries.
  options.timeout = 15000ms;
  auto later = open_transport(options);
  later->publish(job(3, 3), Cancel());
  auto got = kcat_read(cluster.address(), "mri_cartesian_reco");
  std::set<std::string> values;
  for (const auto& m : got) values.insert(m["payload"].get<std::string>());
  CHECK(values.count(R"({"record_id": 3, "input": "records/3/kspace.npy"})") == 1);
}

TEST_CASE("kafka: a subscription to brokers all down is unavailable after the timeout", "[kafka]") {
  auto options = kafka_options("127.0.0.1:1");
  options.timeout = 1000ms;
  auto sub = open_transport(options)->subscribe({"mri_cartesian_reco"});
  auto start = Clock::now();
  auto message = test::error_of(ErrorKind::unavailable, [&] {
    while (seconds_since(start) < 20) sub->poll(200ms);
  });
  CHECK(seconds_since(start) < 8);
  CHECK_THAT(message, Catch::Contains("kafka brokers 127.0.0.1:1 unreachable"));
}

TEST_CASE("kafka: a publish waiting for a broker stops once cancelled", "[kafka]") {
  auto options = kafka_options("127.0.0.1:1");
  options.timeout = 30000ms;
  auto transport = open_transport(options);
  Cancel cancel = Cancel::make();
  std::thread canceller([&] {
    std::this_thread::sleep_for(300ms);
    cancel.cancel();
  });
  auto start = Clock::now();
  test::error_of(ErrorKind::interrupted, [&] { transport->publish(job(4, 4), cancel); });
  canceller.join();
  CHECK(seconds_since(start) < 5);
}

TEST_CASE(
    "kafka: a properties file is applied first, and refused lines name FILE:LINE, never the value",
    "[kafka]") {
  test::TempDir dir;
  auto options = kafka_options("127.0.0.1:1");

  SECTION("a valid file works") {
    MockCluster cluster;
    auto path = (dir / "ok.properties").string();
    std::ofstream(path) << "# security settings\n\nclient.id=x\n  socket.keepalive.enable = true\n";
    options.brokers = cluster.address();
    options.config_file = path;
    auto transport = open_transport(options);
    transport->publish(job(5, 5), Cancel());
    CHECK(kcat_read(cluster.address(), "mri_cartesian_reco").size() == 1);
  }
  SECTION("an unknown property") {
    auto path = (dir / "bad.properties").string();
    std::ofstream(path) << "client.id=x\n# comment\nno.such.property=s3cr3t-value\n";
    options.config_file = path;
    auto message = test::error_of(ErrorKind::usage, [&] { open_transport(options); });
    CHECK_THAT(message, Catch::Contains(path + ":3"));
    CHECK_THAT(message, Catch::Contains("no.such.property"));
    CHECK_THAT(message, !Catch::Contains("s3cr3t"));
  }
  SECTION("a refused value is not shown") {
    auto path = (dir / "value.properties").string();
    std::ofstream(path) << "acks=s3cr3t-value\n";
    options.config_file = path;
    auto message = test::error_of(ErrorKind::usage, [&] { open_transport(options); });
    CHECK_THAT(message, Catch::Contains(path + ":1"));
    CHECK_THAT(message, Catch::Contains("acks"));
    CHECK_THAT(message, !Catch::Contains("s3cr3t"));
  }
  SECTION("a line without '=' is refused without being shown") {
    auto path = (dir / "noeq.properties").string();
    std::ofstream(path) << "sasl.password s3cr3t-value\n";
    options.config_file = path;
    auto message = test::error_of(ErrorKind::usage, [&] { open_transport(options); });
    CHECK_THAT(message, Catch::Contains(path + ":1"));
    CHECK_THAT(message, !Catch::Contains("s3cr3t"));
  }
  SECTION("a missing file") {
    options.config_file = (dir / "missing.properties").string();
    auto message = test::error_of(ErrorKind::not_found, [&] { open_transport(options); });
    CHECK_THAT(message, Catch::Contains("missing.properties"));
  }
}
