#include <wfctl/store/local/pool.hpp>

namespace wfctl::local {

Lease::~Lease() {
  if (m_db) m_pool->release(std::move(m_db));
}

Lease ConnectionPool::acquire(const Open& open) {
  {
    std::lock_guard lock(m_mutex);
    if (!m_idle.empty()) {
      auto db = std::move(m_idle.back());
      m_idle.pop_back();
      return Lease(*this, std::move(db));
    }
  }
  return Lease(*this, open());  // opened outside the lock: opening may wait for the disk
}

void ConnectionPool::release(std::unique_ptr<sqlite::Database> db) noexcept {
  std::unique_ptr<sqlite::Database> closing;  // declared first: closed once the lock is released
  std::lock_guard lock(m_mutex);
  if (m_idle.size() < k_max_idle) m_idle.push_back(std::move(db));
  else closing = std::move(db);
}

void ConnectionPool::clear() {
  std::vector<std::unique_ptr<sqlite::Database>> closing;  // closed once the lock is released
  std::lock_guard lock(m_mutex);
  closing.swap(m_idle);
}

}  // namespace wfctl::local
