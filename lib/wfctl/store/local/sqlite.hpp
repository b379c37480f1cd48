#pragma once
// A small RAII wrapper over SQLite, private to the local store. Every failure becomes a
// wfctl::Error: SQLITE_BUSY past the busy timeout is "unavailable", anything else "internal".
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <wfctl/util/cancel.hpp>

struct sqlite3;
struct sqlite3_stmt;

namespace wfctl::sqlite {

/// How a connection waits for another writer's lock: up to `timeout`, ending at once when
/// `cancel` or the current call's token is cancelled (Error(interrupted)); past the timeout
/// Error(unavailable). `on_wait` (may be empty) is called once when a wait has lasted a
/// second. `store` names the store in messages.
struct LockWait {
  std::chrono::milliseconds timeout{30000};
  std::function<void()> on_wait;
  std::string store;
  Cancel cancel;
};

/// An open database connection; closes itself.
class Database {
 public:
  /// Opens the file read-only, or read-write (creating it with `create`); throws
  /// Error(unavailable) when it cannot. A read-only connection never writes the database.
  Database(const std::string& path, bool write, bool create, LockWait wait = {});
  /// Opens the file read-only as an immutable snapshot (no locks, no -wal or -shm file):
  /// for a reader who may not create those files when the writer's have been removed.
  static std::unique_ptr<Database> immutable(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Runs one or more statements that return no rows.
  void exec(std::string_view sql);
  /// The rowid of the last INSERT on this connection.
  std::int64_t last_insert_rowid() const;
  /// Rows changed by the last statement.
  int changes() const;
  sqlite3* handle() const { return m_db; }
  /// Throws the wfctl::Error for SQLite result code `rc` with `what` as context.
  [[noreturn]] void fail(int rc, std::string_view what) const;
  /// Keeps the -wal and -shm files when the last connection closes (SQLITE_FCNTL_PERSIST_WAL).
  void persist_wal();
  /// How this connection waits for locks.
  const LockWait& lock_wait() const { return m_wait; }
  /// While true, cancellation no longer stops statements (a rollback must run to its end).
  void ignore_interrupts(bool on) { m_ignore_interrupts = on; }
  /// The token of the call now using this connection (nullptr: none), beside the store's.
  void use_call_cancel(const Cancel* cancel) { m_call_cancel = cancel; }
  /// True once the store's or the current call's token is cancelled.
  bool cancelled() const noexcept {
    return m_wait.cancel.cancelled() || (m_call_cancel && m_call_cancel->cancelled());
  }

 private:
  friend class Statement;
  Database() = default;
  // The statements Statement::cached keeps between uses (reset, bindings cleared), by SQL.
  sqlite3_stmt* take_cached(std::string_view sql);
  void keep_cached(sqlite3_stmt* stmt);
  void open(const std::string& name, int flags, const std::string& path);
  static int on_busy(void* self, int count);
  static int on_progress(void* self);

  sqlite3* m_db = nullptr;
  LockWait m_wait;
  std::chrono::steady_clock::time_point m_wait_start{};
  bool m_notified = false;
  bool m_ignore_interrupts = false;
  const Cancel* m_call_cancel = nullptr;
  struct Cached {
    std::string sql;
    sqlite3_stmt* stmt;
    bool in_use;
  };
  std::vector<Cached> m_cached;
};

/// Lets one call's token stop the connection's statements and lock waits while in scope.
class CallCancel {
 public:
  CallCancel(Database& db, const Cancel& cancel) : m_db(db) { m_db.use_call_cancel(&cancel); }
  ~CallCancel() { m_db.use_call_cancel(nullptr); }
  CallCancel(const CallCancel&) = delete;
  CallCancel& operator=(const CallCancel&) = delete;

 private:
  Database& m_db;
};

/// A prepared statement; bind with 1-based indexes, step, read columns.
class Statement {
 public:
  Statement(Database& db, std::string_view sql);
  /// A statement the connection prepares once and keeps for the next use of the same SQL
  /// (a hot read: preparing costs more than running it). Reset when this object ends.
  static Statement cached(Database& db, std::string_view sql) { return Statement(db, sql, true); }
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::optional<std::string>& value);
  Statement& bind_null(int index);
  /// Binds bytes as a BLOB (any bytes; a TEXT binding would be measured in characters).
  Statement& bind_blob(int index, std::string_view value);
  /// Advances; returns true while a row is available.
  bool step();
  /// Runs a statement that returns no rows.
  void run();
  void reset();

  bool is_null(int col) const;
  std::int64_t get_int(int col) const;
  std::string get_text(int col) const;
  std::string_view get_text_view(int col) const;
  std::optional<std::string> get_optional_text(int col) const;
  std::string get_blob(int col) const;

 private:
  Statement(Database& db, std::string_view sql, bool cached);

  Database& m_db;
  sqlite3_stmt* m_stmt = nullptr;
  bool m_cached = false;  // kept by the connection at the end, not finalized
};

/// A write transaction (BEGIN IMMEDIATE, so writers queue on the busy timeout instead of
/// failing on upgrade); rolls back unless commit() was called. commit() throws
/// Error(interrupted) instead of committing once the connection's tokens are cancelled.
class Transaction {
 public:
  explicit Transaction(Database& db, bool immediate = true);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& m_db;
  bool m_done = false;
};

}  // namespace wfctl::sqlite
