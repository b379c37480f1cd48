// wfctl_kafka_mock [BROKERS] [--topic NAME --partitions P]...: a librdkafka mock cluster
// for tests and benchmarks. Prints its bootstrap servers on one line, then reads commands on
// stdin: `down` / `up` take every broker down or up again (answered by a line "ok").
// Exits on EOF of stdin, SIGTERM or SIGINT.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int usage() {
  std::fprintf(stderr, "usage: wfctl_kafka_mock [BROKERS] [--topic NAME --partitions P]...\n");
  return 2;
}

void drop_log(const rd_kafka_t*, int, const char*, const char*) {}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 1;
  struct Topic {
    std::string name;
    int partitions = 1;
  };
  std::vector<Topic> topics;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--topic" && i + 1 < argc) {
      topics.push_back({argv[++i], 1});
    } else if (arg == "--partitions" && i + 1 < argc && !topics.empty()) {
      topics.back().partitions = std::atoi(argv[++i]);
      if (topics.back().partitions < 1) return usage();
    } else if (!arg.empty() && arg[0] != '-') {
      brokers = std::atoi(arg.c_str());
      if (brokers < 1) return usage();
    } else {
      return usage();
    }
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // The cluster lives inside a client handle; this one never produces anything.
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, drop_log);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    std::fprintf(stderr, "wfctl_kafka_mock: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (!cluster) {
    std::fprintf(stderr, "wfctl_kafka_mock: cannot create a mock cluster\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  for (const auto& t : topics) {
    if (auto err = rd_kafka_mock_topic_create(cluster, t.name.c_str(), t.partitions, 1)) {
      std::fprintf(stderr, "wfctl_kafka_mock: topic %s: %s\n", t.name.c_str(),
                   rd_kafka_err2str(err));
      rd_kafka_mock_cluster_destroy(cluster);
      rd_kafka_destroy(rk);
      return 1;
    }
  }
  std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  std::fflush(stdout);

  std::string buffer;
  while (!g_stop) {
    pollfd pfd{STDIN_FILENO, POLLIN, 0};
    if (::poll(&pfd, 1, 200) <= 0) continue;  // a timeout, or EINTR from a signal
    char chunk[256];
    ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (n <= 0) break;  // EOF: the test or the bench is done with us
    buffer.append(chunk, static_cast<size_t>(n));
    for (auto nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n')) {
      std::string command = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      if (!command.empty() && command.back() == '\r') command.pop_back();
      if (command == "down" || command == "up") {
        for (int id = 1; id <= brokers; ++id)
          command == "down" ? rd_kafka_mock_broker_set_down(cluster, id)
                            : rd_kafka_mock_broker_set_up(cluster, id);
        std::printf("ok\n");
      } else if (!command.empty()) {
        std::printf("error: unknown command (use down or up)\n");
      }
      std::fflush(stdout);
    }
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
