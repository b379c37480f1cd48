#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>
#include <wfctl/error.hpp>
#include <wfctl/jobs/runner.hpp>
#include <wfctl/jobs/worker.hpp>
#include <wfctl/ops/results.hpp>
#include <wfctl/util/duration.hpp>
#include <wfctl/util/fs.hpp>

namespace wfctl {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string default_identity() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "localhost");
  return fmt::format("{}:{}", host, ::getpid());
}

milliseconds backoff(milliseconds base, int attempts) {
  milliseconds d = base;
  for (int i = 1; i < attempts && d < std::chrono::minutes(10); ++i) d *= 2;
  return std::min<milliseconds>(d, std::chrono::minutes(10));
}

// A failure that may pass: the store unreachable or too slow for a moment.
bool transient(const Error& e) { return e.kind() == ErrorKind::unavailable || e.kind() == ErrorKind::timed_out; }

// The handler's output, into the job's log in pieces: at 64 KiB or every half second, so that
// `job logs -f` follows along without a write per line.
class LogWriter {
 public:
  LogWriter(JobQueue& queue, JobId id) : m_queue(queue), m_id(id) {}
  ~LogWriter() {
    try {
      flush();
    } catch (...) {  // a log that cannot be written does not change the job's outcome
    }
  }
  void add(std::string_view bytes) {
    if (m_kept >= k_log_limit + 4096) return;  // the store stops at the limit: do not ship more
    m_buf.append(bytes);
    m_kept += bytes.size();
    if (m_buf.size() >= 65536 || Clock::now() - m_last >= milliseconds(500)) flush();
  }
  // A store that is briefly unavailable (a remote store's append failing) costs the log a
  // piece, not the job its run: the piece is dropped and the log says so at the next append.
  void flush() {
    if (m_buf.empty() && m_lost == 0) return;
    std::string out;
    if (m_lost) out = fmt::format("--- wfctl: {} bytes of this log were lost: {}\n", m_lost, m_why);
    out += m_buf;
    m_buf.clear();
    m_last = Clock::now();
    try {
      m_queue.append_log(m_id, out);
      m_lost = 0;
    } catch (const Error& e) {
      if (!transient(e)) throw;
      m_lost += out.size();
      m_why = e.what();
    }
  }

 private:
  JobQueue& m_queue;
  JobId m_id;
  std::string m_buf;
  std::uint64_t m_kept = 0, m_lost = 0;
  std::string m_why;
  Clock::time_point m_last = Clock::now();
};

// Looks a handler's program up in PATH once, not at every job's spawn.
void resolve_program(Handler& h) {
  std::string& program = h.words.front();
  if (program.find('/') != std::string::npos || program.find('{') != std::string::npos) return;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate)) {
      program = candidate;
      return;
    }
  }  // not found: posix_spawnp reports it at the first job
}

struct Shared {
  Shared(Store& s, const WorkerOptions& options)
      : store(s),
        queue(s.jobs()),
        o(options),
        handlers(worker_handlers(options.topics, options.handlers)),
        identity(options.identity.empty() ? default_identity() : options.identity) {
    for (auto& entry : handlers) {
      topics.push_back(entry.first);
      resolve_program(entry.second);
    }
  }
  Store& store;
  JobQueue& queue;
  const WorkerOptions& o;
  std::map<std::string, Handler> handlers;
  std::vector<std::string> topics;
  std::string identity;
  std::mutex mutex;  // stats and log lines
  WorkerStats stats;
  std::atomic<bool> aborting{false};

  void log(const std::string& line) {
    std::lock_guard lock(mutex);
    if (o.log) o.log(line);
  }
  int stop_level() const { return o.stop_requested ? o.stop_requested() : 0; }
};

// A private folder of one attempt (mkdtemp under TMPDIR), removed with what is in it when
// the attempt ends, however it ends: the handler's working directory and, for a store
// without a local data lake, the attempt's own data lake.
struct Scratch {
  fs::path path;
  explicit Scratch(JobId id) {
    std::string tmpl = (fs::temp_directory_path() / fmt::format("wfctl-job-{}-XXXXXX", id)).string();
    if (!::mkdtemp(tmpl.data())) throw errno_error(errno, "cannot create a folder like " + tmpl);
    path = tmpl;  // mkdtemp makes it 0700
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

// records/{record}/{name} → name (the job was checked when it was stored).
std::string lake_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

enum class Ended { finished, cancelled, released };

struct Stopping {};  // the worker is shutting down: the attempt gives its job back

// Where an attempt's handler reads and writes.
struct AttemptFiles {
  std::optional<ResultCopy> copy;  // the input of a store with a data lake: its file, or a copy
  std::string input, data_lake;
  fs::path output;
};

// With a local data lake the handler reads the stored input in place and writes into the
// scratch folder. A store without one (a remote store) gets the scratch folder as the
// attempt's data lake: the input is downloaded (streamed) to records/RECORD/NAME in it, the
// handler writes next to it, and the folder goes away with the attempt. A second stop
// request interrupts the download.
void attempt_files(Shared& c, const Job& job, const fs::path& scratch, AttemptFiles& f) {
  const std::string in_name = lake_name(job.input), out_name = lake_name(job.output);
  if (auto lake = c.store.data_lake_path()) {
    f.copy.emplace(c.store, job.record_id, in_name);
    f.input = fs::absolute(f.copy->path()).string();
    f.data_lake = *lake;
    f.output = scratch / out_name;
    return;
  }
  const fs::path records = scratch / "records" / std::to_string(job.record_id);
  std::error_code ec;
  fs::create_directories(records, ec);
  if (ec) throw errno_error(ec.value(), "cannot create " + records.string());
  const fs::path input = records / in_name;
  {
    AtomicFile file(input);
    WriteFn to_file = fd_writer(file.fd(), file.what());
    ByteSink sink([&](const char* data, std::size_t n) {
      if (c.aborting || c.stop_level() >= 2)
        throw Error(ErrorKind::interrupted, fmt::format("downloading {}: the worker is shutting down", job.input));
      to_file(data, n);
    });
    sink.file_fd = file.fd();
    c.store.read_result(job.record_id, in_name, sink);
    file.commit(false);
  }
  f.input = input.string();
  f.data_lake = scratch.string();
  // The same name as the input (a handler rewriting its input) keeps the output apart.
  f.output = out_name == in_name ? scratch / out_name : records / out_name;
}

// One attempt of a claimed job, to its recorded end.
Ended run_job(Shared& c, const Job& job, const std::string& worker) {
  const milliseconds deadline = std::chrono::seconds(job.deadline_seconds);
  c.log(fmt::format("job {} started: record {}, {} (attempt {} of {})", job.id, job.record_id,
                    job.input, job.attempts, job.max_attempts));
  bool succeeded = false, lost = false, stopping = false;
  std::string message;
  std::optional<Job> finished;  // by the ingest of the output
  try {
    const Handler& handler = c.handlers.at(job.topic);
    Scratch scratch(job.id);
    const std::string out_name = lake_name(job.output);
    AttemptFiles files;  // after the scratch: destroyed first
    attempt_files(c, job, scratch.path, files);
    const fs::path& out_path = files.output;
    const std::map<std::string, std::string> values = {
        {"input", files.input},
        {"output", out_path.string()},
        {"record_id", std::to_string(job.record_id)},
        {"data_lake", files.data_lake},
        {"job_id", std::to_string(job.id)},
        {"topic", job.topic}};
    LogWriter log(c.queue, job.id);
    RunRequest run;
    run.argv = expand(handler, values);
    run.cwd = scratch.path.string();
    run.env = {{"WFCTL_JOB_ID", std::to_string(job.id)},
               {"WFCTL_RECORD_ID", std::to_string(job.record_id)},
               {"WFCTL_JOB_ATTEMPT", std::to_string(job.attempts)}};
    run.deadline = deadline;
    run.kill_grace = c.o.kill_grace;
    log.add(fmt::format("--- wfctl: attempt {} of {} on {}: {}\n", job.attempts, job.max_attempts,
                        worker, fmt::join(run.argv, " ")));
    run.on_output = [&](std::string_view bytes) { log.add(bytes); };
    auto last_beat = Clock::now();
    run.should_stop = [&]() -> std::optional<std::string> {
      if (c.aborting || c.stop_level() >= 2) {
        stopping = true;
        return std::string("stopped: the worker is shutting down");
      }
      if (Clock::now() - last_beat >= c.o.lease / 3) {
        last_beat = Clock::now();
        LeaseState state = LeaseState::renewed;
        try {
          state = c.queue.heartbeat(job.id, worker, c.o.lease);
        } catch (const Error& e) {
          // Beats come every third of the lease: one that fails leaves two more before the
          // lease runs out, and a job taken back meanwhile answers `lost` to the next one.
          if (!transient(e)) throw;
          c.log(fmt::format("job {}: the lease was not renewed, trying again: {}", job.id, e.what()));
        }
        if (state == LeaseState::lost) {
          lost = true;
          return std::string("stopped: the job was cancelled");
        }
      }
      return std::nullopt;
    };
    RunResult r = run_handler(run);
    log.add(
        fmt::format("--- wfctl: {} after {}\n", r.describe(deadline), format_duration(r.elapsed)));
    log.flush();
    if (stopping) throw Stopping{};
    if (lost) {
      c.log(fmt::format("job {} cancelled: its handler was stopped ({})", job.id,
                        r.describe(deadline)));
      std::lock_guard lock(c.mutex);
      ++c.stats.cancelled;
      return Ended::cancelled;
    }
    if (!r.exited_ok()) {
      message = r.describe(deadline);
      if (auto tail = last_lines(r.stderr_tail); !tail.empty()) message += ": " + tail;
    } else if (!fs::is_regular_file(out_path)) {
      message = fmt::format("the handler exited 0 but wrote no {}", out_name);
    } else {
      InputFile file(out_path.string());
      IngestOptions io;
      io.force = true;  // a retry or a new run replaces the earlier result
      io.dicom = ends_with(out_name, ".dcm");
      io.job.submit = false;  // a job's output starts no job
      // The output and the job's success land in one transaction: a job cancelled meanwhile
      // refuses it (conflict), and nothing is stored.
      io.finish_job = FinishRequest{job.id, worker, true,
                                    fmt::format("{} stored ({} bytes)", job.output, file.size()), {}};
      try {
        finished = ingest_result(c.store, job.record_id, out_name, file.source(), io).job;
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::conflict || c.queue.get(job.id).value_or(job).status != JobStatus::cancelled) throw;
        c.log(fmt::format("job {} cancelled: its output is not stored", job.id));
        std::lock_guard lock(c.mutex);
        ++c.stats.cancelled;
        return Ended::cancelled;
      }
      succeeded = true;
      message = finished ? finished->message.value_or("") : "";
    }
  } catch (const Stopping&) {
    stopping = true;
  } catch (const Error& e) {
    // Stopped while the input came or the handler started: not the job's failure.
    stopping = stopping || (e.kind() == ErrorKind::interrupted && (c.aborting || c.stop_level() >= 2));
    message = e.what();
  } catch (const std::exception& e) {
    message = fmt::format("internal error: {}", e.what());
  }
  if (stopping) {
    try {
      c.queue.release(job.id, worker, "returned to the queue: its worker stopped before the handler finished");
    } catch (const std::exception& e) {  // its lease expires instead
      c.log(fmt::format("job {}: cannot give it back: {}", job.id, e.what()));
    }
    return Ended::released;
  }
  FinishRequest f{job.id, worker, succeeded, message, backoff(c.o.retry_backoff, job.attempts)};
  auto after = succeeded ? finished : c.queue.finish(f);
  std::lock_guard lock(c.mutex);
  if (!after) {
    ++c.stats.cancelled;
    if (c.o.log) c.o.log(fmt::format("job {} cancelled", job.id));
    return Ended::cancelled;
  }
  if (after->status == JobStatus::succeeded) {
    ++c.stats.succeeded;
    if (c.o.log) c.o.log(fmt::format("job {} succeeded: {}", job.id, message));
  } else if (after->status == JobStatus::queued) {
    ++c.stats.retried;
    if (c.o.log)
      c.o.log(fmt::format("job {} failed (attempt {} of {}), retry in {}: {}", job.id, job.attempts,
                          job.max_attempts, format_duration(f.retry_after), message));
  } else {
    ++c.stats.failed;
    if (c.o.log)
      c.o.log(fmt::format("job {} failed (attempt {} of {}): {}", job.id, job.attempts,
                          job.max_attempts, message));
  }
  return Ended::finished;
}

// Sleeps up to `d`, waking early when a stop is requested.
void idle(Shared& c, milliseconds d) {
  const auto until = Clock::now() + d;
  while (Clock::now() < until && c.stop_level() == 0) std::this_thread::sleep_for(milliseconds(20));
}

void count_release(Shared& c, Ended e) {
  if (e != Ended::released) return;
  std::lock_guard lock(c.mutex);
  ++c.stats.released;
}

// The local transport: each slot claims from the store's queue.
void local_slot(Shared& c, const std::string& worker) {
  while (c.stop_level() == 0 && !c.aborting) {
    if (!c.store.exists()) {  // nothing was ever queued there: look again later, create nothing
      if (c.o.once) return;
      idle(c, c.o.poll);
      continue;
    }
    auto jobs = c.queue.claim(ClaimRequest{worker, c.topics, c.o.lease, 1, false});
    if (!jobs.empty()) {
      count_release(c, run_job(c, jobs.front(), worker));
      continue;
    }
    milliseconds wait = c.o.poll;
    if (c.o.once) {
      QueueDepth d = c.queue.depth(c.topics, false);
      if (d.empty()) return;
      if (d.queued == 0 && d.next_retry)
        wait = std::clamp(*d.next_retry, milliseconds(10), c.o.poll);
    }
    idle(c, wait);
  }
}

// The Kafka transport: this thread consumes; slots run what it hands them.
struct Work {
  Job job;
  std::optional<TransportMessage> message;  // none for a retry taken from the store
};

void kafka_loop(Shared& c, Transport& transport) {
  auto sub = transport.subscribe(c.topics);
  std::mutex m;
  std::condition_variable cv;
  std::deque<Work> todo;
  std::deque<TransportMessage> finished;
  int busy = 0;
  bool closing = false;
  std::vector<std::thread> slots;
  for (int i = 1; i <= c.o.concurrency; ++i) {
    slots.emplace_back([&, i] {
      const std::string worker = fmt::format("{}/{}", c.identity, i);
      for (;;) {
        Work w;
        {
          std::unique_lock lock(m);
          cv.wait(lock, [&] { return closing || !todo.empty(); });
          if (todo.empty()) return;
          w = std::move(todo.front());
          todo.pop_front();
        }
        Ended e = Ended::finished;
        try {
          // claimed for the first slot's name by the consumer: hand it to this slot
          e = run_job(c, w.job, w.job.worker.value_or(worker));
        } catch (const std::exception& ex) {
          // Not recorded as ended: its message stays undone, to be delivered again.
          c.log(fmt::format("job {}: {}", w.job.id, ex.what()));
          e = Ended::released;
        }
        count_release(c, e);
        std::lock_guard lock(m);
        --busy;
        // A released job's message is not done: another worker gets it again.
        if (w.message && e != Ended::released) finished.push_back(*w.message);
      }
    });
  }
  // Each claim gets a name of its own: the slot that runs it is not known yet, and a job taken
  // back and claimed again must not match its earlier claim's heartbeats.
  int claims = 0;
  auto next_worker = [&] { return fmt::format("{}/{}", c.identity, ++claims); };
  // The store or the brokers failing ends the loop; the slots still finish what they run.
  std::exception_ptr failure;
  try {
    while (c.stop_level() == 0) {
      {
        std::lock_guard lock(m);
        while (!finished.empty()) {
          sub->done(finished.front());
          finished.pop_front();
        }
      }
      int free = 0;
      {
        std::lock_guard lock(m);
        free = c.o.concurrency - busy;
      }
      if (free <= 0) {
        std::this_thread::sleep_for(milliseconds(20));
        continue;
      }
      // Retries and the jobs of dead workers are in the store; new work comes from the topic.
      auto due = c.store.exists() ? c.queue.claim(ClaimRequest{next_worker(), c.topics, c.o.lease, 1, true})
                                : std::vector<Job>{};
      if (!due.empty()) {
        std::lock_guard lock(m);
        ++busy;
        todo.push_back(Work{due.front(), std::nullopt});
        cv.notify_one();
        continue;
      }
      auto msg = sub->poll(milliseconds(200));
      if (!msg) {
        if (c.o.once && sub->at_end()) {
          std::lock_guard lock(m);
          QueueDepth d = c.queue.depth(c.topics, true);
          if (busy == 0 && finished.empty() && d.waiting == 0 && d.running == 0) break;
        }
        continue;
      }
      auto value = parse_reference_message(msg->value);
      if (!value) {
        c.log(fmt::format("skipping the message at {}/{}/{}: not a job value: {}", msg->topic,
                          msg->partition, msg->offset, last_lines(msg->value, 120)));
        std::lock_guard lock(c.mutex);
        ++c.stats.skipped;
        sub->done(*msg);
        continue;
      }
      try {
        const std::string key = fmt::format("{}/{}/{}", msg->topic, msg->partition, msg->offset);
        auto job = c.queue.claim_message(msg->topic, value->record_id, value->input, key,
                                         ClaimRequest{next_worker(), c.topics, c.o.lease, 1, true});
        if (!job) {  // delivered again, and its job runs elsewhere or ended
          c.log(fmt::format("the message at {} was handled already: skipped", key));
          sub->done(*msg);
          continue;
        }
        std::lock_guard lock(m);
        ++busy;
        todo.push_back(Work{*job, *msg});
        cv.notify_one();
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::invalid_input) throw;
        c.log(fmt::format("skipping the message at {}/{}/{}: {}", msg->topic, msg->partition,
                          msg->offset, e.what()));
        std::lock_guard lock(c.mutex);
        ++c.stats.skipped;
        sub->done(*msg);
      }
    }
  } catch (...) {
    failure = std::current_exception();
  }
  // Stop: let running jobs finish (up to the grace period), then stop them.
  const auto stop_at = Clock::now() + c.o.grace;
  {
    std::lock_guard lock(m);
    closing = true;
    // Claimed but not started: back to the queue, their messages not done.
    for (auto& w : todo) {
      try {
        c.queue.release(w.job.id, w.job.worker.value_or(""),
                        "returned to the queue: its worker stopped");
        std::lock_guard stats_lock(c.mutex);
        ++c.stats.released;
      } catch (const std::exception& e) {  // its lease expires instead
        c.log(fmt::format("job {}: cannot give it back: {}", w.job.id, e.what()));
      }
      --busy;
    }
    todo.clear();
  }
  cv.notify_all();
  for (;;) {
    {
      std::lock_guard lock(m);
      if (busy == 0) break;
    }
    if (Clock::now() >= stop_at || c.stop_level() >= 2) c.aborting = true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  for (auto& t : slots) t.join();
  while (!finished.empty()) {
    sub->done(finished.front());
    finished.pop_front();
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

std::map<std::string, Handler> worker_handlers(const std::vector<std::string>& topics,
                                               const std::map<std::string, Handler>& configured) {
  std::map<std::string, Handler> all = configured;
  if (!all.count(std::string(k_default_topic)))
    all.emplace(std::string(k_default_topic), default_cartesian_handler());
  if (topics.empty()) return all;
  std::map<std::string, Handler> chosen;
  for (const auto& t : topics) {
    auto it = all.find(t);
    if (it == all.end())
      throw Error(
          ErrorKind::usage, fmt::format("no handler is configured for topic '{}'", t),
          fmt::format(
              "give --handler '{}=COMMAND {{input}} {{output}}' or set it in the config file", t));
    chosen.emplace(t, it->second);
  }
  return chosen;
}

WorkerStats run_worker(Store& store, Transport& transport, const WorkerOptions& o) {
  require(store, Capability::job_queue, "running a worker");
  if (o.concurrency < 1) throw Error(ErrorKind::usage, "the concurrency must be at least 1");
  Shared c(store, o);
  c.log(fmt::format("worker {} started: topics {}, concurrency {}, transport {}", c.identity,
                    fmt::join(c.topics, ", "), o.concurrency, transport.describe()));
  if (transport.external()) {
    kafka_loop(c, transport);
  } else {
    std::vector<std::thread> slots;
    std::atomic<int> active{o.concurrency};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    for (int i = 1; i <= o.concurrency; ++i) {
      slots.emplace_back([&, i] {
        try {
          local_slot(c, fmt::format("{}/{}", c.identity, i));
        } catch (...) {
          std::lock_guard lock(failure_mutex);
          if (!failure) failure = std::current_exception();
          c.aborting = true;
        }
        --active;
      });
    }
    std::optional<Clock::time_point> stop_at;
    while (active > 0) {
      if (c.stop_level() >= 1 && !stop_at) stop_at = Clock::now() + o.grace;
      if ((stop_at && Clock::now() >= *stop_at) || c.stop_level() >= 2) c.aborting = true;
      std::this_thread::sleep_for(milliseconds(20));
    }
    for (auto& t : slots) t.join();
    if (failure) std::rethrow_exception(failure);
  }
  const auto& s = c.stats;
  c.log(
      fmt::format("worker {} stopped: {} succeeded, {} failed, {} to retry, {} cancelled, {} "
                  "returned to the queue{}",
                  c.identity, s.succeeded, s.failed, s.retried, s.cancelled, s.released,
                  s.skipped ? fmt::format(", {} messages skipped", s.skipped) : std::string()));
  return c.stats;
}

}  // namespace wfctl
