#pragma once
// The access log of `wfctl serve`: complete lines gather in a buffer that a background thread
// writes out every 100 ms, or the writer at once past 64 KiB, and that is written out in full
// when the log ends. One write(2) for many requests, not a write and a flush each; lines never
// mix, and each thread's lines keep their order.
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace wfctl::server {

class LogWriter {
 public:
  /// Lines go to `out`; with a `sink`, each line goes to it at once instead (no thread).
  explicit LogWriter(std::function<void(const std::string&)> sink, std::FILE* out = stderr);
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  /// Adds one line (without its newline). Safe from any thread.
  void line(std::string_view text);
  /// Writes out what is buffered.
  void flush();

 private:
  void write_out(std::unique_lock<std::mutex>& lock);
  void run();

  std::function<void(const std::string&)> m_sink;
  std::FILE* m_out;
  std::mutex m_mutex;        // the buffer
  std::mutex m_write_mutex;  // the output: taken with m_mutex held, never the other way round
  std::condition_variable m_cv;
  std::string m_buffer;
  bool m_stop = false;
  std::thread m_thread;
};

}  // namespace wfctl::server
