// LocalStore: workflows. The result files live in local_store_results.cpp.
#include <wfctl/store/local/local_store.hpp>
#include <wfctl/model/json_reader.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <thread>
#include <wfctl/error.hpp>
#include <wfctl/store/lake/data_lake.hpp>
#include <wfctl/store/local/schema.hpp>
#include <wfctl/store/local/sqlite.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/time.hpp>

namespace wfctl::local {

using lake::DataLake;

namespace fs = std::filesystem;

namespace {

constexpr const char* k_columns =
    "id, name, description, version, author, datetime_created, datetime_updated";

Workflow read_row(const sqlite::Statement& st, bool with_definition) {
  Workflow w;
  w.id = st.get_int(0);
  w.fields.name = st.get_text(1);
  w.fields.description = st.get_optional_text(2);
  w.fields.version = st.get_text(3);
  w.fields.author = st.get_optional_text(4);
  w.datetime_created = st.get_text(5);
  w.datetime_updated = st.get_optional_text(6);
  // Stored by wfctl as compact JSON: parsed only when someone looks at it.
  if (with_definition) w.definition = Definition::from_text(st.get_text(7));
  return w;
}

std::string not_found_message(WorkflowId id) { return fmt::format("workflow {} not found", id); }

std::optional<Workflow> select_by_id(sqlite::Database& db, WorkflowId id) {
  // The hottest read of `wfctl serve`: prepared once per connection.
  static const std::string sql = fmt::format("SELECT {}, definition FROM workflows WHERE id = ?", k_columns);
  auto st = sqlite::Statement::cached(db, sql);
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return read_row(st, true);
}

Workflow insert(sqlite::Database& db, const WorkflowDraft& d) {
  sqlite::Statement st(db,
                       "INSERT INTO workflows (name, description, version, author, definition, "
                       "datetime_created) VALUES (?, ?, ?, ?, ?, ?)");
  Workflow w;
  w.fields = d.fields;
  w.definition = d.definition;
  w.datetime_created = now_iso_utc();
  st.bind(1, d.fields.name).bind(2, d.fields.description).bind(3, d.fields.version);
  st.bind(4, d.fields.author).bind(5, d.definition.dump()).bind(6, w.datetime_created);
  st.run();
  w.id = db.last_insert_rowid();
  return w;
}

void write_update(sqlite::Database& db, Workflow& w, const WorkflowUpdate& u) {
  w.fields = u.fields;
  if (u.definition) w.definition = *u.definition;
  w.datetime_updated = now_iso_utc();
  sqlite::Statement st(db,
                       "UPDATE workflows SET name = ?, description = ?, version = ?, author = ?, "
                       "definition = ?, datetime_updated = ? WHERE id = ?");
  st.bind(1, w.fields.name).bind(2, w.fields.description).bind(3, w.fields.version);
  st.bind(4, w.fields.author).bind(6, *w.datetime_updated).bind(7, w.id);
  if (const std::string* stored = w.definition.text()) st.bind(5, *stored);
  else st.bind(5, w.definition.json().dump());
  st.run();
}

const char* order_column(SortKey key) {
  switch (key) {
    case SortKey::id: return "id";
    case SortKey::name: return "name";
    case SortKey::version: return "version";
    case SortKey::author: return "author";
    case SortKey::created: return "datetime_created";
    case SortKey::updated: return "datetime_updated";
  }
  return "id";
}

// WAL lets readers run beside one writer; switching to it needs a moment of exclusive access,
// which a busy handler does not always wait for, so retry while another process holds it.
void enable_wal(sqlite::Database& db) {
  auto deadline = std::chrono::steady_clock::now() + db.lock_wait().timeout;
  for (;;) {
    try {
      sqlite::Statement st(db, "PRAGMA journal_mode = WAL");
      st.step();
      return;
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::unavailable || std::chrono::steady_clock::now() > deadline) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

}  // namespace


LocalStore::LocalStore(fs::path root, const StoreOptions& options)
    : m_root(std::move(root)), m_database_path((m_root / "wfctl.db").string()), m_options(options), m_lake(std::make_unique<lake::DataLake>(m_root)) {}

LocalStore::~LocalStore() = default;

const Capabilities& LocalStore::capabilities() const {
  static const Capabilities caps = [] {
    Capabilities c;
    c.multi_object_transactions = c.result_listing = c.arbitrary_result_names = c.stored_digests = true;
    c.definition_update = c.result_deletion = true;
    c.job_queue = true;
    return c;
  }();
  return caps;
}

fs::path LocalStore::database_path() const { return m_database_path; }

std::string LocalStore::describe() const { return m_root.string(); }

// Debian's SQLite reads any name that starts with "file:" as a URI (SQLITE_USE_URI), so
// "--store 'file:x?mode=memory'" would open an in-memory database and "file:rel" a database
// beside the lake. An absolute name starts with '/' and is only ever a file name.
std::string LocalStore::sqlite_name() const { return fs::absolute(database_path()).string(); }

bool LocalStore::exists() const {
  // A lake written by a reconstruction service alone counts; a path that cannot be looked at
  // is reported by the read itself.
  struct stat st {};
  return ::stat(m_root.c_str(), &st) == 0 || errno != ENOENT;
}

sqlite::LockWait LocalStore::lock_wait() const {
  sqlite::LockWait w;
  w.timeout = m_options.lock_timeout;
  w.store = m_root.string();
  w.cancel = m_options.cancel;
  if (m_options.on_lock_wait) w.on_wait = [f = m_options.on_lock_wait, s = m_root.string()] { f(s); };
  return w;
}

namespace {

// Whether `p` exists: false only for ENOENT; what else stops a look (a parent that is a file,
// no permission to enter) is the errno table's error, not "no store".
bool present(const fs::path& p, const std::string& what) {
  struct stat st {};
  if (::stat(p.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  throw errno_error(errno, what);
}

void check_root(const fs::path& root) {
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw errno_error(errno, fmt::format("cannot open store {}", root.string()));
  }
  if (!S_ISDIR(st.st_mode))
    throw Error(ErrorKind::usage, fmt::format("cannot open store {}: {}", root.string(), std::strerror(ENOTDIR)),
                "a local store is the directory that holds wfctl.db and records/");
}

}  // namespace

std::unique_ptr<sqlite::Database> LocalStore::open_reader() {
  const std::string what = fmt::format("cannot read store {}", m_root.string());
  // SQLite opens lazily and calls an unreadable file "unable to open": ask the system first.
  // Asked, not opened: closing any descriptor of the database drops every POSIX lock this
  // process holds on it, SQLite's shared lock included. Without that lock, another program's
  // SQLite (the sqlite3 CLI) closing its connection takes itself for the last one and deletes
  // the -wal and -shm files from under this process's connections.
  // (access, not faccessat with AT_EACCESS: glibc makes that the faccessat2 system call,
  // which older container sandboxes refuse with EPERM; wfctl is never set-user-ID.)
  if (::access(m_database_path.c_str(), R_OK) != 0) {
    if (errno == ENOENT) return nullptr;  // removed since it was looked at
    throw errno_error(errno, what);
  }
  auto db = std::make_unique<sqlite::Database>(sqlite_name(), false, false, lock_wait());
  int version = 0;
  try {
    version = schema_version(*db);
  } catch (const Error& e) {
    // A WAL database needs its -shm index, which another program (the sqlite3 CLI) removes
    // on close and a user without write access cannot create. With no -wal file either, the
    // database file alone holds everything: read it as an immutable snapshot.
    if (e.kind() != ErrorKind::permission || present(database_path().string() + "-wal", what)) throw;
    db = sqlite::Database::immutable(sqlite_name());
    version = schema_version(*db);
  }
  if (version == 0) return nullptr;  // created, but a crash came before its schema: nothing stored
  if (version < current_schema_version()) {
    writer();  // a one-time upgrade of an older store
    version = schema_version(*db);
  }
  if (version > current_schema_version())
    throw Error(ErrorKind::not_supported,
                fmt::format("store {} has schema version {}, newer than this wfctl's {}", m_root.string(), version,
                            current_schema_version()),
                "upgrade wfctl");
  return db;
}

std::optional<Lease> LocalStore::reader() {
  // One look per read (a GET by id of `wfctl serve` makes many): a database that is not
  // there, or was removed under a running server, reads as an empty store.
  struct stat st {};
  if (::stat(m_database_path.c_str(), &st) != 0) {
    if (errno != ENOENT && errno != ENOTDIR) throw errno_error(errno, fmt::format("cannot read store {}", m_root.string()));
    check_root(m_root);  // a file where the store should be is an error, not an empty store
    return std::nullopt;
  }
  Lease lease = m_readers.acquire([this] { return open_reader(); });
  if (!lease.get()) return std::nullopt;
  return lease;
}

std::optional<StoreVersion> LocalStore::data_version() {
  struct stat st {};
  if (::stat(m_database_path.c_str(), &st) != 0) return std::nullopt;  // the reads will tell
  const sqlite::CommitWatch* watch = watch_for(st.st_dev, st.st_ino);
  // A database file replaced under the server is not the one watched: no version for it.
  if (!watch || st.st_dev != m_watch_dev || st.st_ino != m_watch_ino) return std::nullopt;
  auto header = watch->header();
  if (!header) return std::nullopt;
  StoreVersion v;
  v.words[0] = static_cast<std::uint64_t>(st.st_dev);
  v.words[1] = static_cast<std::uint64_t>(st.st_ino);
  static_assert(sizeof(*header) == 6 * sizeof(std::uint64_t));
  std::memcpy(&v.words[2], header->data(), sizeof(*header));
  return v;
}

const sqlite::CommitWatch* LocalStore::watch_for(dev_t dev, ino_t ino) {
  if (const auto* watch = m_watch.load(std::memory_order_acquire)) return watch;
  // One thread opens the watch; the others read without a version meanwhile.
  std::unique_lock lock(m_watch_mutex, std::try_to_lock);
  if (!lock) return nullptr;
  if (const auto* watch = m_watch.load(std::memory_order_relaxed)) return watch;
  const auto now = std::chrono::steady_clock::now();
  if (now < m_watch_retry) return nullptr;
  m_watch_retry = now + std::chrono::seconds(1);
  // Not in WAL mode yet (a store being created), locked by another process, or a read-only
  // snapshot: no watch for now. It never waits for a lock: the reads wait as they are told.
  auto watch = sqlite::CommitWatch::open(sqlite_name());
  if (!watch) return nullptr;
  // The file opened must be the one looked at before.
  struct stat st {};
  if (::stat(m_database_path.c_str(), &st) != 0 || st.st_dev != dev || st.st_ino != ino) return nullptr;
  m_watch_owned = std::move(watch);
  m_watch_dev = dev;
  m_watch_ino = ino;
  m_watch.store(m_watch_owned.get(), std::memory_order_release);
  return m_watch_owned.get();
}

std::unique_ptr<sqlite::Database> LocalStore::open_writer() {
  auto db = std::make_unique<sqlite::Database>(sqlite_name(), true, true, lock_wait());
  // The WAL and its index stay when the last connection closes, so that users who may read
  // but not write the store can still open it (they cannot create those files).
  db->persist_wal();
  db->exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON");
  return db;
}

Lease LocalStore::writer() {
  {
    std::lock_guard lock(m_init);
    if (!m_initialised) {
      check_root(m_root);
      if (!present(m_root, fmt::format("cannot open store {}", m_root.string()))) {
        std::error_code ec;
        fs::create_directories(m_root, ec);
        if (ec) throw errno_error(ec.value(), fmt::format("cannot create store {}", m_root.string()));
      }
      Lease first(m_writers, open_writer());
      enable_wal(*first);
      migrate(*first);
      m_initialised = true;
      // Readers opened before the schema existed were not kept; those opened on an older
      // schema see the new one on their next statement.
    }
  }
  return m_writers.acquire([this] { return open_writer(); });
}

std::vector<Workflow> LocalStore::create_workflows(const std::vector<WorkflowDraft>& drafts,
                                                   const WriteCall<std::vector<Workflow>>& call) {
  Lease lease = writer();
  auto& d = *lease;
  sqlite::CallCancel cancel(d, call.cancel);
  sqlite::Transaction tx(d);
  std::vector<Workflow> created;
  created.reserve(drafts.size());
  for (const auto& draft : drafts) created.push_back(insert(d, draft));
  if (call.before_commit) call.before_commit(created);
  tx.commit();
  return created;
}

std::optional<Workflow> LocalStore::find_workflow(WorkflowId id) {
  auto r = reader();
  if (!r) return std::nullopt;
  return select_by_id(**r, id);
}

std::vector<Workflow> LocalStore::list_workflows(const ListQuery& q) {
  check(q);  // before looking at the store
  const char* order = order_column(q.sort_by);
  auto r = reader();
  if (!r) return {};
  auto* d = r->get();
  std::string sql = fmt::format("SELECT {}{} FROM workflows WHERE 1 = 1", k_columns,
                                q.with_definition ? ", definition" : "");
  if (q.name) sql += " AND name = :name";
  if (q.author) sql += " AND author = :author";
  if (q.version) sql += " AND version = :version";
  sql += fmt::format(" ORDER BY {} {}, id {}", order, q.descending ? "DESC" : "ASC",
                     q.descending ? "DESC" : "ASC");
  // SQLite takes OFFSET only after a LIMIT; -1 is none.
  if (q.limit || q.offset) sql += " LIMIT :limit";
  if (q.offset) sql += " OFFSET :offset";
  sqlite::Statement st(*d, sql);
  int i = 1;
  if (q.name) st.bind(i++, *q.name);
  if (q.author) st.bind(i++, *q.author);
  if (q.version) st.bind(i++, *q.version);
  if (q.limit || q.offset) st.bind(i++, q.limit.value_or(-1));
  if (q.offset) st.bind(i++, *q.offset);
  std::vector<Workflow> out;
  while (st.step()) out.push_back(read_row(st, q.with_definition));
  return out;
}

Workflow LocalStore::update_workflow(WorkflowId id, const WorkflowUpdate& update,
                                     const WriteCall<Workflow>& call) {
  if (!reader()) throw Error(ErrorKind::not_found, not_found_message(id));
  Lease lease = writer();
  auto& d = *lease;
  sqlite::CallCancel cancel(d, call.cancel);
  sqlite::Transaction tx(d);
  auto current = select_by_id(d, id);
  if (!current) throw Error(ErrorKind::not_found, not_found_message(id));
  write_update(d, *current, update);
  if (call.before_commit) call.before_commit(*current);
  tx.commit();
  return *current;
}

std::vector<WorkflowId> LocalStore::delete_workflows(const std::vector<WorkflowId>& ids, bool ignore_not_found,
                                                     const WriteCall<std::vector<WorkflowId>>& call) {
  if (!reader()) {
    if (ignore_not_found || ids.empty()) return {};
    throw Error(ErrorKind::not_found, not_found_message(ids.front()));
  }
  Lease lease = writer();
  auto& d = *lease;
  sqlite::CallCancel cancel(d, call.cancel);
  sqlite::Transaction tx(d);
  std::vector<WorkflowId> deleted;
  sqlite::Statement st(d, "DELETE FROM workflows WHERE id = ?");
  for (auto id : ids) {
    st.reset();
    st.bind(1, id).run();
    if (d.changes() > 0) {
      deleted.push_back(id);
    } else if (!ignore_not_found) {
      throw Error(ErrorKind::not_found, not_found_message(id), "nothing was deleted");
    }
  }
  if (call.before_commit) call.before_commit(deleted);
  tx.commit();
  return deleted;
}

std::vector<ApplyOutcome> LocalStore::apply_workflows(const std::vector<WorkflowDraft>& drafts,
                                                      const WriteCall<std::vector<ApplyOutcome>>& call) {
  check_unique_keys(drafts);
  Lease lease = writer();
  auto& d = *lease;
  sqlite::CallCancel cancel(d, call.cancel);
  sqlite::Transaction tx(d);
  std::vector<ApplyOutcome> out;
  for (const auto& draft : drafts) {
    sqlite::Statement st(d, fmt::format("SELECT {}, definition FROM workflows WHERE name = ? AND "
                                        "version = ? ORDER BY id LIMIT 2",
                                        k_columns));
    st.bind(1, draft.fields.name).bind(2, draft.fields.version);
    if (!st.step()) {
      out.push_back({ApplyAction::created, insert(d, draft)});
      continue;
    }
    Workflow current = read_row(st, true);
    if (st.step())
      throw Error(ErrorKind::conflict,
                  fmt::format("more than one workflow is named '{}' version '{}' (ids {} and {})",
                              draft.fields.name, draft.fields.version, current.id, st.get_int(0)),
                  "apply needs (name, version) to be unique: delete or rename the duplicates");
    if (apply_action(current, draft) == ApplyAction::unchanged) {
      out.push_back({ApplyAction::unchanged, current});
      continue;
    }
    write_update(d, current, WorkflowUpdate{draft.fields, draft.definition});
    out.push_back({ApplyAction::configured, current});
  }
  if (call.before_commit) call.before_commit(out);
  tx.commit();
  return out;
}

}  // namespace wfctl::local
