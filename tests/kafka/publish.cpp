// wfctl_kafka_publish BROKERS COUNT [TOPIC_PREFIX]: publishes COUNT jobs through wfctl's
// Kafka Transport, one after the other, each waiting for its acknowledgement as
// `wfctl job submit` does (bench/kafka_publish.sh). Prints the elapsed seconds on stdout.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <wfctl/error.hpp>
#include <wfctl/jobs/transport.hpp>

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: wfctl_kafka_publish BROKERS COUNT [TOPIC_PREFIX]\n");
    return 2;
  }
  wfctl::TransportOptions options;
  options.kind = "kafka";
  options.brokers = argv[1];
  if (argc == 4) options.topic_prefix = argv[3];
  long count = std::atol(argv[2]);
  try {
    auto transport = wfctl::open_transport(options);
    wfctl::Cancel cancel;
    auto start = std::chrono::steady_clock::now();
    for (long i = 1; i <= count; ++i) {
      wfctl::Job job;
      job.id = i;
      job.topic = std::string(wfctl::k_default_topic);
      job.record_id = i;
      job.input = "records/" + std::to_string(i) + "/kspace.npy";
      transport->publish(job, cancel);
    }
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    std::printf("%.6f\n", elapsed.count());
  } catch (const wfctl::Error& e) {
    std::fprintf(stderr, "wfctl_kafka_publish: %s\n", e.what());
    return wfctl::exit_code_for(e.kind());
  }
  return 0;
}
