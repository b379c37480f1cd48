// The local store's job queue: submit, claim, heartbeat, finish, retry, cancel, leases, logs,
// and the upload whose job lands in the file's transaction. Claims from several threads and
// several store objects (as several processes would) hand out each job once.
#include <catch2/catch.hpp>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <fstream>
#include <wfctl/error.hpp>
#include <wfctl/jobs/worker.hpp>
#include <wfctl/ops/results.hpp>
#include <wfctl/store/store.hpp>

#include "expect_error.hpp"
#include "temp_dir.hpp"
#include "text_source.hpp"

using namespace wfctl;
using namespace std::chrono_literals;
using test::error_of;
using test::text_source;

namespace {

JobSpec spec(RecordId record = 7, std::string name = "kspace.npy") {
  JobSpec s;
  s.record_id = record;
  s.input = record_path(record, name);
  return s;
}

ClaimRequest worker(std::string name, std::chrono::milliseconds lease = 30s) {
  ClaimRequest r;
  r.worker = std::move(name);
  r.lease = lease;
  return r;
}

}  // namespace

TEST_CASE("jobs: submit records a queued job with the reference's defaults", "[jobs]") {
  test::TempDir dir;
  auto store = open_store((dir / "s").string(), {});
  auto& q = store->jobs();
  CHECK_FALSE(q.get(1));  // no store yet: nothing, and nothing created
  CHECK(q.list({}).empty());
  Job j = q.submit(spec());
  CHECK(j.id == 1);
  CHECK(j.topic == "mri_cartesian_reco");
  CHECK(j.output == "records/7/record-7.dcm");
  CHECK(j.status == JobStatus::queued);
  CHECK(j.attempts == 0);
  CHECK(j.max_attempts == 3);
  CHECK(q.get(1)->input == "records/7/kspace.npy");
  JobSpec other = spec(8);
  other.topic = "radial";
  q.submit(other);
  JobQuery by_record;
  by_record.record = 8;
  REQUIRE(q.list(by_record).size() == 1);
  CHECK(q.list(by_record)[0].topic == "radial");
  JobQuery by_status;
  by_status.status = JobStatus::running;
  CHECK(q.list(by_status).empty());
  CHECK(q.list({}).size() == 2);
}

TEST_CASE("jobs: a spec that names another record's file or a bad topic is refused", "[jobs]") {
  test::TempDir dir;
  auto store = open_store((dir / "s").string(), {});
  JobSpec s = spec();
  s.input = "records/8/kspace.npy";
  CHECK_THAT(error_of(ErrorKind::invalid_input, [&] { store->jobs().submit(s); }), Catch::Contains("input"));
  s = spec();
  s.input = "records/7/../8/x";
  error_of(ErrorKind::invalid_input, [&] { store->jobs().submit(s); });
  s = spec();
  s.topic = "a topic";
  error_of(ErrorKind::invalid_input, [&] { store->jobs().submit(s); });
  s = spec();
  s.max_attempts = 0;
  error_of(ErrorKind::invalid_input, [&] { store->jobs().submit(s); });
  CHECK_FALSE(store->exists());  // refused before a store was created for it
}

TEST_CASE("jobs: claim, heartbeat and finish, and a failed attempt is retried after its delay", "[jobs]") {
  test::TempDir dir;
  auto store = open_store((dir / "s").string(), {});
  auto& q = store->jobs();
  JobSpec s = spec();
  s.max_attempts = 2;
  Job j = q.submit(s);
  auto claimed = q.claim(worker("w1"));
  REQUIRE(claimed.size() == 1);
  CHECK(claimed[0].status == JobStatus::running);
  CHECK(claimed[0].attempts == 1);
  CHECK(claimed[0].worker == "w1");
  CHECK(claimed[0].lease_expires);
  CHECK(q.claim(worker("w2")).empty());  // handed to one worker only
  CHECK(q.heartbeat(j.id, "w1", 30s) == LeaseState::renewed);
  CHECK(q.heartbeat(j.id, "w2", 30s) == LeaseState::lost);
  CHECK_FALSE(q.finish({j.id, "w2", true, "not mine", 0ms}));
  auto after = q.finish({j.id, "w1", false, "exit 3: boom", 200ms});
  REQUIRE(after);
  CHECK(after->status == JobStatus::queued);
  CHECK(after->retry_at);
  CHECK(after->message == "exit 3: boom");
  CHECK(q.claim(worker("w1")).empty());  // not due yet
  QueueDepth d = q.depth({}, false);
  CHECK(d.waiting == 1);
  CHECK_FALSE(d.empty());
  std::this_thread::sleep_for(250ms);
  claimed = q.claim(worker("w2"));
  REQUIRE(claimed.size() == 1);
  CHECK(claimed[0].attempts == 2);
  after = q.finish({j.id, "w2", false, "exit 3 again", 0ms});
  CHECK(after->status == JobStatus::failed);  // the last attempt
  CHECK(after->datetime_finished);
  CHECK(q.depth({}, false).empty());
}

TEST_CASE("jobs: a worker that stops renewing its lease loses the job to the next claim", "[jobs]") {
  test::TempDir dir;
  auto store = open_store((dir / "s").string(), {});
  auto& q = store->jobs();
  JobSpec s = spec();
  s.max_attempts = 2;
  Job j = q.submit(s);
  REQUIRE(q.claim(worker("dead", 50ms)).size() == 1);
  std::this_thread::sleep_for(120ms);
  auto again = q.claim(worker("alive", 50ms));
  REQUIRE(again.size() == 1);
  CHECK(again[0].id == j.id);
  CHECK(again[0].attempts == 2);
  CHECK(again[0].worker == "alive");
  CHECK(q.heartbeat(j.id, "dead", 30s) == LeaseState::lost);
  CHECK_FALSE(q.finish({j.id, "dead", true, "late", 0ms}));
  // Its last attempt's worker dies too: the job fails, saying why.
  std::this_thread::sleep_for(120ms);
  CHECK(q.claim(worker("third")).empty());
  auto failed = q.get(j.id);
  CHECK(failed->status == JobStatus::failed);
  CHECK_THAT(*failed->message, Catch::Contains("alive stopped renewing its lease") && Catch::Contains("attempt 2 of 2"));
}

TEST_CASE("jobs: release gives a job back without counting the attempt", "[jobs]") {
  test::TempDir dir;
  auto store = open_store((dir / "s").string(), {});
  auto& q = store->jobs();
  Job j = q.submit(spec());
  q.claim(worker("w1"));
  q.release(j.id, "w1", "worker stopping");
  auto back = q.get(j.id);
  CHECK(back->status == JobStatus::queued);
  CHECK(back->attempts == 0);
  CHECK(q.claim(worker("w2")).size() == 1);
}

TEST_CASE("jobs: cancel and retry, all or nothing", "[jobs]") {
  test::TempDir dir;
  auto store = open_store((dir / "s").string(), {});
  auto& q = store->jobs();
  Job a = q.submit(spec()), b = q.submit(spec()), c = q.submit(spec());
  q.claim(worker("w1"));  // a runs
  auto cancelled = q.cancel({a.id, b.id});
  CHECK(cancelled[0].status == JobStatus::cancelled);
  CHECK(cancelled[1].status == JobStatus::cancelled);
  CHECK(q.heartbeat(a.id, "w1", 30s) == LeaseState::lost);  // its worker stops the handler
  CHECK_FALSE(q.finish({a.id, "w1", true, "done anyway", 0ms}));
  CHECK(q.get(a.id)->status == JobStatus::cancelled);
  CHECK(q.cancel({b.id})[0].status == JobStatus::cancelled);  // again: unchanged
  error_of(ErrorKind::not_found, [&] { q.cancel({c.id, 99}); });
  CHECK(q.get(c.id)->status == JobStatus::queued);  // nothing cancelled
  auto claimed = q.claim(worker("w1"));
  REQUIRE(claimed.size() == 1);
  q.finish({c.id, "w1", true, "ok", 0ms});
  CHECK_THAT(error_of(ErrorKind::conflict, [&] { q.cancel({c.id}); }), Catch::Contains("already succeeded"));
  error_of(ErrorKind::conflict, [&] { q.retry({a.id, c.id}); });
  CHECK(q.get(a.id)->status == JobStatus::cancelled);  // all or nothing
  auto retried = q.retry({a.id, b.id});
  CHECK(retried[0].status == JobStatus::queued);
  CHECK(retried[0].attempts == 0);
  CHECK_FALSE(retried[0].message);
  error_of(ErrorKind::conflict, [&] { q.retry({a.id}); });  // queued already
}

TEST_CASE("jobs: a job whose delivery failed is sent again by retry", "[jobs]") {
  test::TempDir dir;
  auto store = open_store((dir / "s").string(), {});
  auto& q = store->jobs();
  JobSpec s = spec();
  s.delivery = Delivery::pending;
  Job j = q.submit(s);
  q.set_delivery(j.id, Delivery::failed, std::string("not delivered: no broker"));
  CHECK(q.get(j.id)->delivery == Delivery::failed);
  auto r = q.retry({j.id});
  CHECK(r[0].delivery == Delivery::pending);
  CHECK(r[0].status == JobStatus::queued);
  // Transported jobs that never ran are not handed out by the store: they wait for their
  // message, which claim_message matches.
  ClaimRequest kafka = worker("k1");
  kafka.transported = true;
  CHECK(q.claim(kafka).empty());
  CHECK(q.claim(worker("local")).empty());
  auto m = q.claim_message("mri_cartesian_reco", 7, "records/7/kspace.npy", "t/0/0", kafka);
  REQUIRE(m);
  CHECK(m->id == j.id);
  CHECK(m->status == JobStatus::running);
  // The same message again while its job runs (a rebalance): handled, nothing new.
  CHECK_FALSE(q.claim_message("mri_cartesian_reco", 7, "records/7/kspace.npy", "t/0/0", kafka));
  // Its worker dies: the same message delivered again runs the same job again.
  q.release(j.id, "k1", "gone");
  auto again = q.claim_message("mri_cartesian_reco", 7, "records/7/kspace.npy", "t/0/0", kafka);
  REQUIRE(again);
  CHECK(again->id == j.id);
  q.finish({j.id, "k1", true, "ok", 0ms});
  CHECK_FALSE(q.claim_message("mri_cartesian_reco", 7, "records/7/kspace.npy", "t/0/0", kafka));  // ended
  // A message no job is waiting for (ScanHub's own, or kcat's) becomes a new job.
  auto fresh = q.claim_message("mri_cartesian_reco", 7, "records/7/kspace.npy", "t/0/1", kafka);
  REQUIRE(fresh);
  CHECK(fresh->id != j.id);
  CHECK(fresh->delivery == Delivery::delivered);
  error_of(ErrorKind::invalid_input, [&] { q.claim_message("mri_cartesian_reco", 7, "/etc/passwd", "t/0/2", kafka); });
}

TEST_CASE("jobs: logs append in order and are cut at the limit", "[jobs]") {
  test::TempDir dir;
  auto store = open_store((dir / "s").string(), {});
  auto& q = store->jobs();
  Job j = q.submit(spec());
  q.append_log(j.id, "one\n");
  q.append_log(j.id, std::string("t\0o\n", 4));  // any bytes
  CHECK(q.read_log(j.id, 0) == std::string("one\nt\0o\n", 8));
  CHECK(q.read_log(j.id, 5) == std::string("\0o\n", 3));
  CHECK(q.read_log(j.id, 8).empty());
  std::string big(k_log_limit, 'x');
  q.append_log(j.id, big);
  q.append_log(j.id, "dropped");
  std::string log = q.read_log(j.id, 0);
  CHECK(log.size() < k_log_limit + 200);
  CHECK(log.size() > k_log_limit);
  CHECK_THAT(log, Catch::Contains("the log is cut here"));
  CHECK_THAT(log, !Catch::Contains("dropped"));
  error_of(ErrorKind::not_found, [&] { q.read_log(99, 0); });
}

TEST_CASE("jobs: an upload's job lands in the file's transaction, or neither does", "[jobs]") {
  test::TempDir dir;
  auto store = open_store((dir / "s").string(), {});
  IngestOptions o;
  o.before_commit = [](const Ingested& in) {
    REQUIRE(in.job);  // visible before the commit, with its id
    throw Error(ErrorKind::unavailable, "cannot print");
  };
  error_of(ErrorKind::unavailable, [&] { ingest_result(*store, 7, std::string("kspace.npy"), text_source("raw"), o); });
  CHECK_FALSE(store->find_result(7, "kspace.npy"));
  CHECK(store->jobs().list({}).empty());
  o.before_commit = {};
  auto in = ingest_result(*store, 7, std::string("kspace.npy"), text_source("raw"), o);
  REQUIRE(in.job);
  CHECK(in.job->input == "records/7/kspace.npy");
  CHECK(store->jobs().get(in.job->id)->status == JobStatus::queued);
  // A bad topic is refused before anything is stored.
  o.job.topic = "bad topic";
  error_of(ErrorKind::invalid_input, [&] { ingest_result(*store, 8, std::string("kspace.npy"), text_source("raw"), o); });
  CHECK_FALSE(store->find_result(8, "kspace.npy"));
  // --no-job, and the record's own result: no job.
  o.job = UploadJob{false, std::string(k_default_topic)};
  CHECK_FALSE(ingest_result(*store, 9, std::string("kspace.npy"), text_source("raw"), o).job);
  CHECK(store->jobs().list({}).size() == 1);
}

TEST_CASE("jobs: threads and store objects claiming at once never share a job", "[jobs][threads]") {
  test::TempDir dir;
  const std::string root = (dir / "s").string();
  constexpr int k_jobs = 200, k_threads = 4;
  {
    auto store = open_store(root, {});
    for (int i = 0; i < k_jobs; ++i) store->jobs().submit(spec());
  }
  // Two store objects, as two worker processes would have, two threads on each.
  auto a = open_store(root, {}), b = open_store(root, {});
  std::mutex m;
  std::multiset<JobId> seen;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      Store& s = t % 2 ? *a : *b;
      const std::string name = "w" + std::to_string(t);
      try {
        for (;;) {
          auto jobs = s.jobs().claim(worker(name));
          if (jobs.empty()) return;
          for (const auto& j : jobs) {
            if (!s.jobs().finish({j.id, name, true, "ok", 0ms})) ++errors;
            std::lock_guard lock(m);
            seen.insert(j.id);
          }
        }
      } catch (const std::exception&) {
        ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(errors == 0);
  CHECK(seen.size() == k_jobs);
  CHECK(std::set<JobId>(seen.begin(), seen.end()).size() == k_jobs);  // each exactly once
  JobQuery done;
  done.status = JobStatus::succeeded;
  CHECK(a->jobs().list(done).size() == k_jobs);
}

TEST_CASE("jobs: a worker with three slots drains the queue, each job once", "[jobs][threads]") {
  test::TempDir dir;
  auto store = open_store((dir / "s").string(), {});
  IngestOptions no_job;
  no_job.job.submit = false;
  ingest_result(*store, 7, std::string("kspace.npy"), text_source("raw"), no_job);
  constexpr int k_jobs = 30;
  for (int i = 0; i < k_jobs; ++i) {
    JobSpec s = spec();
    s.output = "records/7/out-" + std::to_string(i % 3) + ".txt";
    s.max_attempts = 1;
    store->jobs().submit(s);
  }
  const std::string ran = (dir / "ran").string();
  WorkerOptions o;
  o.concurrency = 3;
  o.once = true;
  o.poll = 20ms;
  o.handlers["mri_cartesian_reco"] = parse_handler("sh -c 'echo {job_id} >> \"$0\"; echo x > \"$1\"' " + ran + " {output}", "test");
  std::mutex m;
  std::vector<std::string> lines;
  o.log = [&](const std::string& line) {
    std::lock_guard lock(m);
    lines.push_back(line);
  };
  auto transport = open_transport({});
  WorkerStats stats = run_worker(*store, *transport, o);
  CHECK(stats.succeeded == k_jobs);
  CHECK(stats.failed == 0);
  std::ifstream in(ran);
  std::multiset<JobId> ids;
  for (JobId id; in >> id;) ids.insert(id);
  CHECK(ids.size() == k_jobs);
  CHECK(std::set<JobId>(ids.begin(), ids.end()).size() == k_jobs);
  CHECK(store->find_result(7, "out-2.txt"));
  CHECK(store->jobs().depth({}, false).empty());
}
