#include <wfctl/server/log_writer.hpp>

#include <chrono>

namespace wfctl::server {

namespace {
constexpr std::size_t k_flush_size = 64 * 1024;
}

LogWriter::LogWriter(std::function<void(const std::string&)> sink, std::FILE* out)
    : m_sink(std::move(sink)), m_out(out) {
  if (!m_sink) m_thread = std::thread([this] { run(); });
}

LogWriter::~LogWriter() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_all();
  if (m_thread.joinable()) m_thread.join();
  flush();
}

void LogWriter::line(std::string_view text) {
  std::unique_lock lock(m_mutex);
  if (m_sink) return m_sink(std::string(text));
  m_buffer.append(text);
  m_buffer += '\n';
  if (m_buffer.size() >= k_flush_size) write_out(lock);
}

void LogWriter::flush() {
  std::unique_lock lock(m_mutex);
  write_out(lock);
}

// Takes the buffer, then the output before letting the buffer go, so that buffers are written
// in the order they were taken. The output is let go before the buffer is taken again: a
// thread that holds the buffer and waits for the output must never wait on a thread that
// holds the output and waits for the buffer.
void LogWriter::write_out(std::unique_lock<std::mutex>& lock) {
  if (m_buffer.empty()) return;
  std::string out;
  out.swap(m_buffer);
  {
    std::lock_guard write_lock(m_write_mutex);
    lock.unlock();
    std::fwrite(out.data(), 1, out.size(), m_out);
    std::fflush(m_out);
  }
  lock.lock();
}

void LogWriter::run() {
  std::unique_lock lock(m_mutex);
  while (!m_stop) {
    m_cv.wait_for(lock, std::chrono::milliseconds(100));
    write_out(lock);
  }
}

}  // namespace wfctl::server
