#include <wfctl/server/answer_cache.hpp>

namespace wfctl::server {

bool AnswerCache::find(std::int64_t key, const StoreVersion& version, std::string& body) const {
  std::shared_ptr<const std::string> kept;
  {
    std::lock_guard lock(m_mutex);
    if (m_version != version) return false;
    auto it = m_answers.find(key);
    if (it == m_answers.end()) return false;
    kept = it->second;
  }
  body = *kept;
  return true;
}

void AnswerCache::keep(std::int64_t key, const StoreVersion& version, const std::string& body) {
  if (body.size() > m_max_bytes) return;
  auto answer = std::make_shared<const std::string>(body);
  std::lock_guard lock(m_mutex);
  if (m_version != version) {
    // Another version's answer replaces the kept ones (versions are only compared, so which
    // is newer cannot be told: the last kept wins).
    m_answers.clear();
    m_bytes = 0;
    m_version = version;
  }
  if (auto it = m_answers.find(key); it != m_answers.end()) {
    m_bytes -= it->second->size();
    m_answers.erase(it);
  }
  while (!m_answers.empty() && (m_answers.size() >= m_max_answers || m_bytes + body.size() > m_max_bytes)) {
    m_bytes -= m_answers.begin()->second->size();  // any one: all are of this version
    m_answers.erase(m_answers.begin());
  }
  m_bytes += answer->size();
  m_answers.emplace(key, std::move(answer));
}

std::size_t AnswerCache::size() const {
  std::lock_guard lock(m_mutex);
  return m_answers.size();
}

}  // namespace wfctl::server
