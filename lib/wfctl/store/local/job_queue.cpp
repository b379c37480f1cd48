// LocalJobQueue: jobs in SQLite. Every change is one BEGIN IMMEDIATE transaction on the
// store's writer connection, so claims, heartbeats and finishes of several workers (threads
// or processes) are serialised by SQLite's write lock and a job is never handed out twice.
#include <wfctl/store/local/job_queue.hpp>

#include <fmt/format.h>
#include <wfctl/error.hpp>
#include <wfctl/store/local/job_rows.hpp>
#include <wfctl/store/local/local_store.hpp>
#include <wfctl/store/local/sqlite.hpp>
#include <wfctl/util/time.hpp>

namespace wfctl::local {

namespace {

using Clock = std::chrono::system_clock;

constexpr const char* k_columns =
    "id, topic, record_id, input, output, status, attempts, max_attempts, deadline_seconds, datetime_created, "
    "datetime_started, datetime_finished, retry_at, message, worker, lease_expires, delivery";

Delivery parse_delivery(std::string_view text) {
  if (text == "pending") return Delivery::pending;
  if (text == "delivered") return Delivery::delivered;
  if (text == "failed") return Delivery::failed;
  return Delivery::local;
}

Job read_job(const sqlite::Statement& st) {
  Job j;
  j.id = st.get_int(0);
  j.topic = st.get_text(1);
  j.record_id = st.get_int(2);
  j.input = st.get_text(3);
  j.output = st.get_text(4);
  j.status = parse_job_status(st.get_text_view(5));
  j.attempts = static_cast<int>(st.get_int(6));
  j.max_attempts = static_cast<int>(st.get_int(7));
  j.deadline_seconds = st.get_int(8);
  j.datetime_created = st.get_text(9);
  j.datetime_started = st.get_optional_text(10);
  j.datetime_finished = st.get_optional_text(11);
  j.retry_at = st.get_optional_text(12);
  j.message = st.get_optional_text(13);
  j.worker = st.get_optional_text(14);
  j.lease_expires = st.get_optional_text(15);
  j.delivery = parse_delivery(st.get_text_view(16));
  return j;
}

std::optional<Job> select_job(sqlite::Database& db, JobId id) {
  sqlite::Statement st(db, fmt::format("SELECT {} FROM jobs WHERE id = ?", k_columns));
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return read_job(st);
}

Job must_select(sqlite::Database& db, JobId id) {
  auto j = select_job(db, id);
  if (!j) throw Error(ErrorKind::not_found, fmt::format("job {} not found", id));
  return *j;
}

std::string in_future(std::chrono::milliseconds d) { return iso_utc(Clock::now() + d); }

// " AND topic IN (?, ...) AND delivery ..." with its values, for the claim and depth queries.
struct Filter {
  std::string sql;
  std::vector<std::string> topics;
  void bind(sqlite::Statement& st, int first) const {
    for (std::size_t i = 0; i < topics.size(); ++i) st.bind(first + static_cast<int>(i), topics[i]);
  }
};

Filter filter(const std::vector<std::string>& topics, bool transported) {
  Filter f;
  f.sql = transported ? " AND delivery <> 'local'" : " AND delivery = 'local'";
  if (!topics.empty()) {
    f.sql += " AND topic IN (";
    for (std::size_t i = 0; i < topics.size(); ++i) f.sql += i ? ", ?" : "?";
    f.sql += ")";
    f.topics = topics;
  }
  return f;
}

// Running jobs whose worker stopped renewing the lease go back to the queue, or fail when
// that was their last attempt.
void expire_leases(sqlite::Database& db, const std::string& now, const Filter& f) {
  sqlite::Statement st(db, "UPDATE jobs SET "
                           "status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, "
                           "datetime_finished = CASE WHEN attempts >= max_attempts THEN ?1 ELSE NULL END, "
                           "message = 'worker ' || coalesce(worker, '?') || ' stopped renewing its lease' || "
                           "CASE WHEN attempts >= max_attempts THEN ' (attempt ' || attempts || ' of ' || "
                           "max_attempts || ')' ELSE '; queued again' END, "
                           "lease_expires = NULL, retry_at = NULL "
                           "WHERE status = 'running' AND lease_expires < ?1" +
                               f.sql);
  st.bind(1, now);
  f.bind(st, 2);
  st.run();
}

void start(sqlite::Database& db, JobId id, const ClaimRequest& r, const std::string& now) {
  sqlite::Statement st(db,
                       "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker = ?, "
                       "datetime_started = ?, datetime_finished = NULL, lease_expires = ?, retry_at = NULL "
                       "WHERE id = ?");
  st.bind(1, r.worker).bind(2, now).bind(3, in_future(r.lease)).bind(4, id);
  st.run();
}

const char* k_cut_marker = "\n[wfctl: the log is cut here, at 4 MiB; the job's message keeps the tail of stderr]\n";

}  // namespace

// A worker's bookkeeping (claims, heartbeats, logs, the end of an attempt) commits without
// waiting for the disk: WAL keeps it atomic and consistent, and what a power cut takes back
// is only a state the queue recovers from (a claim or a heartbeat lost: the lease expires and
// the job runs again; a finish lost: the job runs again). Submits stay fully synchronous: a
// job once acknowledged is never lost.
RelaxedSync::RelaxedSync(sqlite::Database& db) : m_db(db) { m_db.exec("PRAGMA synchronous = NORMAL"); }

RelaxedSync::~RelaxedSync() {
  try {
    m_db.exec("PRAGMA synchronous = FULL");
  } catch (...) {  // a connection that cannot be set back stays relaxed: only for bookkeeping
  }
}

Job insert_job(sqlite::Database& db, const JobSpec& spec) {
  check(spec);
  Job j;
  j.topic = spec.topic;
  j.record_id = spec.record_id;
  j.input = spec.input;
  j.output = spec.output.value_or(default_job_output(spec.record_id));
  j.max_attempts = spec.max_attempts;
  j.deadline_seconds = spec.deadline.count();
  j.datetime_created = now_iso_utc();
  j.delivery = spec.delivery;
  sqlite::Statement st(db,
                       "INSERT INTO jobs (topic, record_id, input, output, status, max_attempts, "
                       "deadline_seconds, datetime_created, delivery) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)");
  st.bind(1, j.topic).bind(2, j.record_id).bind(3, j.input).bind(4, j.output).bind(5, j.max_attempts);
  st.bind(6, j.deadline_seconds).bind(7, j.datetime_created).bind(8, to_string(j.delivery));
  st.run();
  j.id = db.last_insert_rowid();
  return j;
}

Job LocalJobQueue::submit(const JobSpec& spec, const Cancel& cancel) {
  check(spec);  // before a store is created for a job it refuses
  Lease lease = m_store.writer();
  sqlite::CallCancel calls(*lease, cancel);
  sqlite::Transaction tx(*lease);
  Job j = insert_job(*lease, spec);
  tx.commit();
  return j;
}

std::optional<Job> LocalJobQueue::get(JobId id) {
  auto r = m_store.reader();
  if (!r) return std::nullopt;
  return select_job(**r, id);
}

std::vector<Job> LocalJobQueue::list(const JobQuery& q) {
  if (q.limit && *q.limit < 0) throw Error(ErrorKind::invalid_input, fmt::format("invalid limit {}: must be at least 0", *q.limit));
  auto r = m_store.reader();
  if (!r) return {};
  std::string sql = fmt::format("SELECT {} FROM jobs WHERE 1", k_columns);
  if (q.status) sql += " AND status = ?1";
  if (q.record) sql += " AND record_id = ?2";
  if (q.topic) sql += " AND topic = ?3";
  if (q.after) sql += " AND id > ?4";
  sql += " ORDER BY id";
  if (q.limit) sql += " LIMIT ?5";
  sqlite::Statement st(**r, sql);
  if (q.status) st.bind(1, to_string(*q.status));
  if (q.record) st.bind(2, *q.record);
  if (q.topic) st.bind(3, *q.topic);
  if (q.after) st.bind(4, *q.after);
  if (q.limit) st.bind(5, *q.limit);
  std::vector<Job> out;
  while (st.step()) out.push_back(read_job(st));
  return out;
}

std::vector<Job> LocalJobQueue::claim(const ClaimRequest& r) {
  Lease lease = m_store.writer();
  auto& d = *lease;
  RelaxedSync relaxed(*lease);
  sqlite::Transaction tx(d);
  const std::string now = now_iso_utc();
  const Filter f = filter(r.topics, r.transported);
  expire_leases(d, now, f);
  std::vector<JobId> ids;
  {
    // A transported job that never ran waits for its message; the store hands out only its
    // retries and the jobs of workers that died.
    sqlite::Statement st(d, "SELECT id FROM jobs WHERE status = 'queued' AND (retry_at IS NULL OR retry_at <= ?1)" +
                                f.sql + (r.transported ? " AND attempts > 0" : "") +
                                fmt::format(" ORDER BY id LIMIT {}", r.max));
    st.bind(1, now);
    f.bind(st, 2);
    while (st.step()) ids.push_back(st.get_int(0));
  }
  std::vector<Job> out;
  for (JobId id : ids) {
    start(d, id, r, now);
    out.push_back(must_select(d, id));
  }
  tx.commit();
  return out;
}

std::optional<Job> LocalJobQueue::claim_message(const std::string& topic, RecordId record, const std::string& input,
                                                const std::string& message_key, const ClaimRequest& r) {
  JobSpec spec;
  spec.topic = topic;
  spec.record_id = record;
  spec.input = input;
  spec.delivery = Delivery::delivered;
  check(spec);  // a message that names no file of its record is refused before anything is written
  Lease lease = m_store.writer();
  auto& d = *lease;
  RelaxedSync relaxed(d);
  sqlite::Transaction tx(d);
  const std::string now = now_iso_utc();
  expire_leases(d, now, filter({topic}, true));
  JobId id = 0;
  {
    // A message seen before (delivered again after a crash or a rebalance): its own job runs
    // again when it is queued; when it runs elsewhere or ended, the message is handled.
    sqlite::Statement st(d, "SELECT id, status FROM jobs WHERE message_key = ? ORDER BY id DESC LIMIT 1");
    st.bind(1, message_key);
    if (st.step()) {
      if (st.get_text_view(1) != "queued") return std::nullopt;
      id = st.get_int(0);
    }
  }
  if (id == 0) {
    // A job cancelled before its message came: the message is handled.
    sqlite::Statement st(d, "SELECT id FROM jobs WHERE status = 'cancelled' AND delivery <> 'local' AND "
                            "message_key IS NULL AND topic = ? AND record_id = ? AND input = ? ORDER BY id LIMIT 1");
    st.bind(1, topic).bind(2, record).bind(3, input);
    if (st.step()) {
      sqlite::Statement mark(d, "UPDATE jobs SET message_key = ? WHERE id = ?");
      mark.bind(1, message_key).bind(2, st.get_int(0));
      mark.run();
      tx.commit();
      return std::nullopt;
    }
  }
  if (id == 0) {
    // A new message: the oldest queued job of that input waiting for one, or a new job.
    sqlite::Statement st(d, "SELECT id FROM jobs WHERE status = 'queued' AND delivery <> 'local' AND "
                            "message_key IS NULL AND topic = ? AND record_id = ? AND input = ? ORDER BY id LIMIT 1");
    st.bind(1, topic).bind(2, record).bind(3, input);
    if (st.step()) id = st.get_int(0);
    if (id == 0) id = insert_job(d, spec).id;
    sqlite::Statement mark(d, "UPDATE jobs SET message_key = ? WHERE id = ?");
    mark.bind(1, message_key).bind(2, id);
    mark.run();
  }
  start(d, id, r, now);
  Job j = must_select(d, id);
  tx.commit();
  return j;
}

LeaseState LocalJobQueue::heartbeat(JobId id, const std::string& worker, std::chrono::milliseconds lease_time) {
  Lease lease = m_store.writer();
  RelaxedSync relaxed(*lease);
  sqlite::Transaction tx(*lease);
  sqlite::Statement st(*lease, "UPDATE jobs SET lease_expires = ? WHERE id = ? AND worker = ? AND status = 'running'");
  st.bind(1, in_future(lease_time)).bind(2, id).bind(3, worker);
  st.run();
  const bool renewed = lease->changes() == 1;
  tx.commit();
  return renewed ? LeaseState::renewed : LeaseState::lost;
}

std::optional<Job> finish_job(sqlite::Database& d, const FinishRequest& r) {
  auto j = select_job(d, r.id);
  if (!j || j->status != JobStatus::running || j->worker != r.worker) return std::nullopt;
  const std::string now = now_iso_utc();
  const bool again = !r.succeeded && j->attempts < j->max_attempts;
  sqlite::Statement st(d, "UPDATE jobs SET status = ?, message = ?, lease_expires = NULL, retry_at = ?, "
                          "datetime_finished = ? WHERE id = ?");
  st.bind(1, r.succeeded ? "succeeded" : again ? "queued" : "failed");
  if (r.message.empty()) st.bind_null(2);
  else st.bind(2, r.message);
  if (again) st.bind(3, in_future(r.retry_after)).bind_null(4);
  else st.bind_null(3).bind(4, now);
  st.bind(5, r.id);
  st.run();
  return must_select(d, r.id);
}

std::optional<Job> LocalJobQueue::finish(const FinishRequest& r) {
  Lease lease = m_store.writer();
  RelaxedSync relaxed(*lease);
  sqlite::Transaction tx(*lease);
  auto after = finish_job(*lease, r);
  if (after) tx.commit();
  return after;
}

void LocalJobQueue::release(JobId id, const std::string& worker, const std::string& message) {
  Lease lease = m_store.writer();
  RelaxedSync relaxed(*lease);
  sqlite::Transaction tx(*lease);
  sqlite::Statement st(*lease, "UPDATE jobs SET status = 'queued', attempts = max(attempts - 1, 0), "
                               "lease_expires = NULL, retry_at = NULL, message = ? "
                               "WHERE id = ? AND worker = ? AND status = 'running'");
  st.bind(1, message).bind(2, id).bind(3, worker);
  st.run();
  tx.commit();
}

std::vector<Job> LocalJobQueue::cancel(const std::vector<JobId>& ids, const Cancel& cancel) {
  Lease lease = m_store.writer();
  auto& d = *lease;
  sqlite::CallCancel calls(d, cancel);
  sqlite::Transaction tx(d);
  const std::string now = now_iso_utc();
  std::vector<Job> out;
  for (JobId id : ids) {
    Job j = must_select(d, id);
    if (j.status == JobStatus::succeeded || j.status == JobStatus::failed)
      throw Error(ErrorKind::conflict, fmt::format("job {} already {}: there is nothing to cancel", id, to_string(j.status)));
    if (j.status != JobStatus::cancelled) {
      sqlite::Statement st(d, "UPDATE jobs SET status = 'cancelled', datetime_finished = ?, lease_expires = NULL, "
                              "retry_at = NULL, message = ? WHERE id = ?");
      st.bind(1, now).bind(2, j.status == JobStatus::running ? "cancelled while running" : "cancelled").bind(3, id);
      st.run();
    }
    out.push_back(must_select(d, id));
  }
  tx.commit();
  return out;
}

std::vector<Job> LocalJobQueue::retry(const std::vector<JobId>& ids, const Cancel& cancel) {
  Lease lease = m_store.writer();
  auto& d = *lease;
  sqlite::CallCancel calls(d, cancel);
  sqlite::Transaction tx(d);
  std::vector<Job> out;
  for (JobId id : ids) {
    Job j = must_select(d, id);
    // Pending: a publish that never finished (the submitter was interrupted or died).
    const bool undelivered = j.delivery == Delivery::failed || j.delivery == Delivery::pending;
    const char* delivery = j.delivery == Delivery::local ? "local" : "pending";
    if (j.status == JobStatus::failed || j.status == JobStatus::cancelled) {
      sqlite::Statement st(d, "UPDATE jobs SET status = 'queued', attempts = 0, datetime_started = NULL, "
                              "datetime_finished = NULL, retry_at = NULL, message = NULL, worker = NULL, "
                              "lease_expires = NULL, delivery = ?, message_key = NULL WHERE id = ?");
      st.bind(1, delivery).bind(2, id);
      st.run();
    } else if (j.status == JobStatus::queued && undelivered) {
      sqlite::Statement st(d, "UPDATE jobs SET delivery = 'pending', message_key = NULL WHERE id = ?");
      st.bind(1, id);
      st.run();
    } else {
      const std::string state = j.status == JobStatus::succeeded ? "already succeeded" : "is " + std::string(to_string(j.status));
      throw Error(ErrorKind::conflict,
                  fmt::format("job {} {}: only failed, cancelled or undelivered jobs can be retried", id, state),
                  j.status == JobStatus::succeeded ? "submit a new job to run it again" : "");
    }
    out.push_back(must_select(d, id));
  }
  tx.commit();
  return out;
}

Job LocalJobQueue::set_delivery(JobId id, Delivery delivery, const std::optional<std::string>& message) {
  Lease lease = m_store.writer();
  sqlite::Transaction tx(*lease);
  sqlite::Statement st(*lease, "UPDATE jobs SET delivery = ?, message = coalesce(?, message) WHERE id = ?");
  st.bind(1, to_string(delivery)).bind(2, message).bind(3, id);
  st.run();
  Job j = must_select(*lease, id);
  tx.commit();
  return j;
}

QueueDepth LocalJobQueue::depth(const std::vector<std::string>& topics, bool transported) {
  QueueDepth q;
  auto r = m_store.reader();
  if (!r) return q;
  const Filter f = filter(topics, transported);
  const std::string now = now_iso_utc();
  sqlite::Statement st(**r, "SELECT status, retry_at IS NOT NULL AND retry_at > ?1, count(*), min(retry_at) "
                            "FROM jobs WHERE status IN ('queued', 'running')" +
                                f.sql + " GROUP BY 1, 2");
  st.bind(1, now);
  f.bind(st, 2);
  while (st.step()) {
    const bool running = st.get_text_view(0) == "running";
    const bool waiting = st.get_int(1) != 0;
    const std::int64_t n = st.get_int(2);
    if (running) q.running += n;
    else if (waiting) {
      q.waiting += n;
      if (auto t = parse_iso_utc(st.get_text_view(3)))
        q.next_retry = std::chrono::duration_cast<std::chrono::milliseconds>(*t - Clock::now());
    } else q.queued += n;
  }
  return q;
}

void LocalJobQueue::append_log(JobId id, std::string_view bytes) {
  if (bytes.empty()) return;
  Lease lease = m_store.writer();
  auto& d = *lease;
  RelaxedSync relaxed(*lease);
  sqlite::Transaction tx(d);
  std::uint64_t size = 0;
  {
    sqlite::Statement st(d, "SELECT log_size FROM jobs WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) return;
    size = static_cast<std::uint64_t>(st.get_int(0));
  }
  if (size >= k_log_limit) return;  // cut already, and said so
  std::string chunk(bytes.substr(0, static_cast<std::size_t>(k_log_limit - size)));
  if (chunk.size() < bytes.size()) chunk += k_cut_marker;
  sqlite::Statement ins(d, "INSERT INTO job_logs (job_id, offset, bytes) VALUES (?, ?, ?)");
  ins.bind(1, id).bind(2, static_cast<std::int64_t>(size)).bind_blob(3, chunk);
  ins.run();
  std::uint64_t after = size + chunk.size();
  if (chunk.size() > bytes.size() || after >= k_log_limit) after = std::max<std::uint64_t>(after, k_log_limit);
  sqlite::Statement up(d, "UPDATE jobs SET log_size = ? WHERE id = ?");
  up.bind(1, static_cast<std::int64_t>(after)).bind(2, id);
  up.run();
  tx.commit();
}

std::string LocalJobQueue::read_log(JobId id, std::uint64_t offset) {
  auto r = m_store.reader();
  if (!r || !select_job(**r, id)) throw Error(ErrorKind::not_found, fmt::format("job {} not found", id));
  sqlite::Statement st(**r, "SELECT offset, bytes FROM job_logs WHERE job_id = ? AND offset + length(bytes) > ? "
                            "ORDER BY offset");
  st.bind(1, id).bind(2, static_cast<std::int64_t>(offset));
  std::string out;
  while (st.step()) {
    const auto at = static_cast<std::uint64_t>(st.get_int(0));
    std::string bytes = st.get_blob(1);
    out += at < offset ? bytes.substr(static_cast<std::size_t>(offset - at)) : bytes;
  }
  return out;
}

}  // namespace wfctl::local
