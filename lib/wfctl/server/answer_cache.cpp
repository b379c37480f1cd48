#include <wfctl/server/answer_cache.hpp>

namespace wfctl::server {

bool AnswerCache::find(std::int64_t key, const StoreVersion& version, std::string& body) const {
  std::lock_guard lock(m_mutex);
  if (m_version != version) return false;
  auto it = m_answers.find(key);
  if (it == m_answers.end()) return false;
  body = it->second;
  return true;
}

void AnswerCache::keep(std::int64_t key, const StoreVersion& version, const std::string& body) {
  std::lock_guard lock(m_mutex);
  if (m_version != version || m_answers.size() >= m_max_answers || m_bytes + body.size() > m_max_bytes) {
    // Another version's answer replaces the kept ones (versions are only compared, so which
    // is newer cannot be told: the last kept wins); so does one past the bounds.
    m_answers.clear();
    m_bytes = 0;
    m_version = version;
  }
  if (body.size() > m_max_bytes) return;
  auto [it, added] = m_answers.try_emplace(key, body);
  if (!added) {
    m_bytes -= it->second.size();
    it->second = body;
  }
  m_bytes += body.size();
}

std::size_t AnswerCache::size() const {
  std::lock_guard lock(m_mutex);
  return m_answers.size();
}

}  // namespace wfctl::server
