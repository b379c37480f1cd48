#pragma once
// A few SQLite connections shared by the threads of one LocalStore. A connection is used by
// one thread at a time (SQLite's multi-thread mode): a thread leases one for an operation and
// gives it back when the lease ends, so eight threads on one store hold eight connections.
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <wfctl/store/local/sqlite.hpp>

namespace wfctl::local {

class ConnectionPool;

/// One connection, held by one thread until the lease is destroyed; then it goes back to the
/// pool (or is closed when the pool already keeps enough idle ones).
class Lease {
 public:
  Lease(ConnectionPool& pool, std::unique_ptr<sqlite::Database> db) : m_pool(&pool), m_db(std::move(db)) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease();

  sqlite::Database& operator*() const { return *m_db; }
  sqlite::Database* operator->() const { return m_db.get(); }
  sqlite::Database* get() const { return m_db.get(); }

 private:
  ConnectionPool* m_pool;
  std::unique_ptr<sqlite::Database> m_db;
};

/// Idle connections of one kind (read-only or read-write); safe to use from many threads.
class ConnectionPool {
 public:
  using Open = std::function<std::unique_ptr<sqlite::Database>()>;

  /// An idle connection, or a new one from `open` when none is idle; throws what `open` throws.
  Lease acquire(const Open& open);
  /// Closes every idle connection (leased ones close when their lease ends).
  void clear();

 private:
  friend class Lease;
  void release(std::unique_ptr<sqlite::Database> db) noexcept;

  static constexpr std::size_t k_max_idle = 8;
  std::mutex m_mutex;
  std::vector<std::unique_ptr<sqlite::Database>> m_idle;
};

}  // namespace wfctl::local
