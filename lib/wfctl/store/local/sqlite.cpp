#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <thread>
#include <wfctl/util/duration.hpp>
#include <wfctl/error.hpp>
#include <wfctl/store/local/sqlite.hpp>

namespace wfctl::sqlite {

namespace {
ErrorKind kind_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
      return ErrorKind::unavailable;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return ErrorKind::permission;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorKind::unavailable;
    default:
      return ErrorKind::internal;
  }
}
}  // namespace

Database::Database(const std::string& path, bool write, bool create, LockWait wait) : m_wait(std::move(wait)) {
  // No SQLITE_OPEN_URI: a store path is a file name, never "file:...?mode=memory".
  int flags = (write ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX;
  if (write && create) flags |= SQLITE_OPEN_CREATE;
  open(path, flags, path);
}

std::unique_ptr<Database> Database::immutable(const std::string& path) {
  // The one URI wfctl builds, from a path whose every byte outside [A-Za-z0-9/._-] is
  // percent-encoded: nothing in the path can add a parameter or change its meaning.
  std::string uri = "file:";
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '.' || c == '_' || c == '-') uri += static_cast<char>(c);
    else uri += fmt::format("%{:02X}", c);
  }
  uri += "?immutable=1";
  std::unique_ptr<Database> db(new Database());
  db->open(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, path);
  return db;
}

void Database::open(const std::string& name, int flags, const std::string& path) {
  // Before SQLite's first use: no memory statistics (nothing reads them), which otherwise
  // take one process-wide mutex at every allocation of every connection, contended by the
  // threads of `wfctl serve` (SQLite's documentation recommends it for speed).
  static const bool configured = [] { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK; }();
  (void)configured;  // SQLITE_MISUSE when SQLite was initialised already: it keeps its statistics
  int rc = sqlite3_open_v2(name.c_str(), &m_db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
    sqlite3_close_v2(m_db);
    m_db = nullptr;
    throw Error(kind_for(rc), "cannot open database " + path + ": " + msg);
  }
  sqlite3_extended_result_codes(m_db, 1);
  sqlite3_busy_handler(m_db, &Database::on_busy, this);
  // A long statement (a big listing, a migration) stops on Ctrl-C with SQLITE_INTERRUPT.
  sqlite3_progress_handler(m_db, 10000, &Database::on_progress, this);
}

int Database::on_progress(void* p) {
  auto* self = static_cast<Database*>(p);
  return !self->m_ignore_interrupts && self->cancelled() ? 1 : 0;
}

Database::~Database() {
  for (auto& c : m_cached) sqlite3_finalize(c.stmt);
  sqlite3_close_v2(m_db);
}

sqlite3_stmt* Database::take_cached(std::string_view sql) {
  for (auto& c : m_cached) {
    if (!c.in_use && c.sql == sql) {
      c.in_use = true;  // a nested use of the same SQL prepares its own
      return c.stmt;
    }
  }
  return nullptr;
}

// Nothing is allocated when the statement came from the cache (most uses).
void Database::keep_cached(sqlite3_stmt* stmt) {
  sqlite3_reset(stmt);  // ends its read of the database
  sqlite3_clear_bindings(stmt);
  for (auto& c : m_cached) {
    if (c.stmt == stmt) {
      c.in_use = false;
      return;
    }
  }
  m_cached.push_back(Cached{sqlite3_sql(stmt), stmt, false});
}

void Database::persist_wal() {
  int on = 1;
  sqlite3_file_control(m_db, "main", SQLITE_FCNTL_PERSIST_WAL, &on);
}

// SQLite's own busy timeout sleeps through Ctrl-C; this one polls for it between short naps
// (a signal also cuts a nap short), and tells a waiting user once why nothing happens.
int Database::on_busy(void* p, int count) {
  auto* self = static_cast<Database*>(p);
  const auto now = std::chrono::steady_clock::now();
  if (count == 0) {  // a new wait (a pooled connection waits once per operation)
    self->m_wait_start = now;
    self->m_notified = false;
  }
  if (self->cancelled()) return 0;
  const auto waited = now - self->m_wait_start;
  if (waited >= self->m_wait.timeout) return 0;
  if (!self->m_notified && waited >= std::chrono::seconds(1) && self->m_wait.on_wait) {
    self->m_notified = true;
    self->m_wait.on_wait();
  }
  auto nap = std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(count < 10 ? 1 : 10),
                                                         self->m_wait.timeout - waited);
  std::this_thread::sleep_for(nap);
  return 1;
}

void Database::fail(int rc, std::string_view what) const {
  std::string msg = m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
    if (cancelled())
      throw Error(ErrorKind::interrupted,
                  fmt::format("interrupted while waiting for another process's lock on store {}", m_wait.store),
                  "nothing was written");
    throw Error(ErrorKind::unavailable,
                fmt::format("store {} is locked by another process (waited {})", m_wait.store,
                            format_duration(m_wait.timeout)),
                "another process holds the store's write lock; wait longer with the lock-timeout setting");
  }
  if ((rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_PERM)
    throw Error(ErrorKind::permission, fmt::format("cannot write store {}: {}", m_wait.store, msg),
                "the store is read-only for this user");
  if ((rc & 0xff) == SQLITE_INTERRUPT) throw Error(ErrorKind::interrupted, "interrupted", "nothing was written");
  if ((rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_IOERR)
    throw Error(ErrorKind::unavailable, fmt::format("cannot write store {}: {}", m_wait.store, msg),
                "nothing was written; free some space and try again");
  throw Error(kind_for(rc), std::string(what) + ": " + msg);
}

void Database::exec(std::string_view sql) {
  char* err = nullptr;
  std::string text(sql);
  int rc = sqlite3_exec(m_db, text.c_str(), nullptr, nullptr, &err);
  if (err) sqlite3_free(err);
  if (rc != SQLITE_OK) fail(rc, "database");
}

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(m_db); }
int Database::changes() const { return sqlite3_changes(m_db); }

Statement::Statement(Database& db, std::string_view sql) : m_db(db) {
  int rc = sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &m_stmt, nullptr);
  if (rc != SQLITE_OK) db.fail(rc, "database");
}

Statement::Statement(Database& db, std::string_view sql, bool cached) : m_db(db) {
  m_stmt = db.take_cached(sql);
  if (!m_stmt) {
    int rc = sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()),
                                cached ? SQLITE_PREPARE_PERSISTENT : 0, &m_stmt, nullptr);
    if (rc != SQLITE_OK) db.fail(rc, "database");
  }
  m_cached = cached;
}

Statement::~Statement() {
  if (!m_cached || !m_stmt) sqlite3_finalize(m_stmt);
  else m_db.keep_cached(m_stmt);
}

Statement& Statement::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(m_stmt, index, value);
  if (rc != SQLITE_OK) m_db.fail(rc, "database");
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  int rc = sqlite3_bind_text64(m_stmt, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) m_db.fail(rc, "database");
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view value) {
  int rc = sqlite3_bind_blob64(m_stmt, index, value.data(), value.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) m_db.fail(rc, "database");
  return *this;
}

std::string Statement::get_blob(int col) const {
  auto* p = static_cast<const char*>(sqlite3_column_blob(m_stmt, col));
  if (!p) return {};
  return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col)));
}

Statement& Statement::bind(int index, const std::optional<std::string>& value) {
  return value ? bind(index, std::string_view(*value)) : bind_null(index);
}

Statement& Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(m_stmt, index);
  if (rc != SQLITE_OK) m_db.fail(rc, "database");
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  m_db.fail(rc, "database");
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(m_stmt);
  sqlite3_clear_bindings(m_stmt);
}

bool Statement::is_null(int col) const { return sqlite3_column_type(m_stmt, col) == SQLITE_NULL; }
std::int64_t Statement::get_int(int col) const { return sqlite3_column_int64(m_stmt, col); }

std::string_view Statement::get_text_view(int col) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, col));
  if (!p) return {};
  return {p, static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col))};
}

std::string Statement::get_text(int col) const { return std::string(get_text_view(col)); }

std::optional<std::string> Statement::get_optional_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return get_text(col);
}

Transaction::Transaction(Database& db, bool immediate) : m_db(db) {
  m_db.exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN");
}

Transaction::~Transaction() {
  if (!m_done) {
    m_db.ignore_interrupts(true);
    try {
      m_db.exec("ROLLBACK");
    } catch (...) {
      // A failed rollback leaves SQLite to roll back on close; nothing better to do here.
    }
    m_db.ignore_interrupts(false);
  }
}

void Transaction::commit() {
  if (m_db.cancelled())  // cancelled during the work (Ctrl-C): roll it back instead
    throw Error(ErrorKind::interrupted, "interrupted", "nothing was stored");
  m_db.exec("COMMIT");
  m_done = true;
}

}  // namespace wfctl::sqlite
