#pragma once
// The parts that copy_file_hashed (copy.cpp) and Appender (appender.cpp) share: where the
// bytes are written (buffered, or with O_DIRECT from several threads) and a thread that works
// through pieces in order. Internal to util/.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <wfctl/error.hpp>
#include <wfctl/util/interrupt.hpp>

namespace wfctl::copy_parts {

// O_DIRECT wants the file offset, the length and the buffer aligned to the device's logical
// block; a page is a multiple of every common one (and the mapping is page-aligned).
constexpr std::uint64_t k_direct_align = 4096;

// Where copy_file_hashed writes. Sequentially, at the descriptor's position (write), or, when
// the target is a regular file at an aligned position whose file system takes O_DIRECT, at
// offsets from that position (pwrite, from several threads at once): the page cache is then
// bypassed, so the writes cost neither a copy nor writeback on the CPU the hash needs. The
// descriptor's flags are restored on destruction.
class Output {
 public:
  /// For `length` bytes; with `try_direct`, O_DIRECT is tried and the file's blocks are
  /// allocated up front when `length` is known (writes inside the file's size can run side by
  /// side on ext4).
  Output(int fd, std::string what, std::uint64_t length, bool try_direct)
      : m_fd(fd), m_what(std::move(what)) {
    m_flags = ::fcntl(fd, F_GETFL);
    struct stat st {};
    // O_APPEND makes Linux ignore pwrite's offset: such a descriptor is written in order.
    if (!try_direct || m_flags < 0 || (m_flags & O_APPEND) || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
      return;
    const off_t pos = ::lseek(fd, 0, SEEK_CUR);
    // A file system without O_DIRECT refuses the flag here (EINVAL): the writes stay buffered.
    if (pos < 0 || pos % static_cast<off_t>(k_direct_align) != 0 ||
        ::fcntl(fd, F_SETFL, m_flags | O_DIRECT) != 0)
      return;
    m_direct = true;
    m_positional = true;
    m_base = static_cast<std::uint64_t>(pos);
    // Only a help: where it fails (no space is reported by the writes themselves), writes
    // that extend the file are merely slower.
    if (length > 0) (void)::fallocate(fd, 0, pos, static_cast<off_t>(length));
  }
  ~Output() { buffered(); }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  /// Whether writes go to offsets (write_at) rather than to the position (write).
  bool positional() const { return m_positional; }

  /// Writes all `n` bytes of a mapping at the descriptor's position; false when reading them
  /// failed (EFAULT: the source shrank below the mapping). Throws Error for a failed write,
  /// Error(interrupted) on Ctrl-C while a pipe blocks.
  bool write(const char* data, std::size_t n) { return write_all(data, n, nullptr); }
  /// The same at `offset` from where the copy starts; safe from several threads at once.
  bool write_at(const char* data, std::size_t n, std::uint64_t offset) {
    std::uint64_t at = m_base + offset;
    return write_all(data, n, &at);
  }
  /// After the last write_at: moves the descriptor's position past the `length` bytes copied.
  void finish(std::uint64_t length) {
    if (m_positional && ::lseek(m_fd, static_cast<off_t>(m_base + length), SEEK_SET) < 0)
      throw errno_error(errno, "cannot write " + m_what);
  }

 private:
  bool write_all(const char* data, std::size_t n, std::uint64_t* at) {
    while (n > 0) {
      std::size_t want = n;
      if (m_direct) {
        want = n / k_direct_align * k_direct_align;
        if (want == 0) {  // the unaligned tail of the file
          buffered();
          want = n;
        }
      }
      const ssize_t k =
          at ? ::pwrite(m_fd, data, want, static_cast<off_t>(*at)) : ::write(m_fd, data, want);
      if (k < 0) {
        if (errno == EINTR) {
          throw_if_interrupted();
          continue;
        }
        // Some file systems take the flag but refuse a request at write time.
        if (errno == EINVAL && m_direct) {
          buffered();
          continue;
        }
        if (errno == EFAULT) return false;
        throw errno_error(errno, "cannot write " + m_what);
      }
      if (k == 0) throw errno_error(EIO, "cannot write " + m_what);
      data += k;
      n -= static_cast<std::size_t>(k);
      if (at) *at += static_cast<std::uint64_t>(k);
      if (m_direct && static_cast<std::uint64_t>(k) % k_direct_align != 0) buffered();
    }
    return true;
  }
  void buffered() noexcept {
    std::lock_guard lock(m_mutex);
    if (m_direct) (void)::fcntl(m_fd, F_SETFL, m_flags);
    m_direct = false;
  }

  int m_fd;
  std::string m_what;
  int m_flags = -1;
  std::atomic<bool> m_direct{false};  // read by every writing thread, cleared by any
  bool m_positional = false;
  std::uint64_t m_base = 0;
  std::mutex m_mutex;
};


// The threads of one copy report to the copying thread through one lock and one signal.
struct Board {
  std::mutex mutex;
  std::condition_variable cv;
};

// A thread that works through the windows handed to it, in order (hashing them, or writing
// them), and says how far it got. The windows arrive with their pages already mapped in
// (MAP_POPULATE, on the copying thread), so the hash spends its time in SHA-256, not in page
// faults.
class WindowWorker {
 public:
  /// Does one window; returns false when reading the mapping failed (SIGBUS, EFAULT); may
  /// throw. `stop` asks it to give up early.
  using Work = std::function<bool(const char* data, std::size_t n, std::uint64_t offset,
                                  const std::atomic<bool>& stop)>;

  WindowWorker(Board& board, Work work)
      : m_board(board), m_work(std::move(work)), m_thread([this] { run(); }) {}
  ~WindowWorker() {
    {
      std::lock_guard lock(m_board.mutex);
      m_stop = true;
    }
    m_board.cv.notify_all();
    m_thread.join();  // within one window at most: the windows in hand outlive this object
  }
  WindowWorker(const WindowWorker&) = delete;
  WindowWorker& operator=(const WindowWorker&) = delete;

  /// Queues `n` bytes at `offset`; they must stay mapped until done() has passed them.
  /// Returns the bytes submitted so far, this piece included.
  std::uint64_t submit(const char* data, std::size_t n, std::uint64_t offset) {
    std::uint64_t submitted = 0;
    {
      std::lock_guard lock(m_board.mutex);
      m_queue.push_back({data, n, offset});
      submitted = m_submitted += n;
    }
    m_board.cv.notify_all();
    return submitted;
  }
  /// With the board locked: the bytes done, in the order submitted.
  std::uint64_t done() const { return m_done; }
  /// The bytes submitted (on the submitting thread, or with the board locked).
  std::uint64_t submitted() const { return m_submitted; }
  /// With the board locked: true once the work failed (and the worker stopped);
  /// rethrow_failure() says how.
  bool failed() const { return m_failed; }
  /// With the board locked, after failed(): rethrows what the work threw; returns when the
  /// work reported a failed read.
  void rethrow_failure() const {
    if (m_error) std::rethrow_exception(m_error);
  }

 private:
  struct Piece {
    const char* data;
    std::size_t n;
    std::uint64_t offset;
  };

  void run() {
    std::unique_lock lock(m_board.mutex);
    for (;;) {
      m_board.cv.wait(lock, [this] { return m_stop || !m_queue.empty(); });
      if (m_stop) return;
      const Piece piece = m_queue.front();
      lock.unlock();
      bool ok = false;
      std::exception_ptr error;
      try {
        ok = m_work(piece.data, piece.n, piece.offset, m_stop);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      if (m_stop) return;
      m_queue.pop_front();
      if (!ok || error) {
        m_error = error;
        m_failed = true;
        m_board.cv.notify_all();
        return;
      }
      m_done += piece.n;
      m_board.cv.notify_all();
    }
  }

  Board& m_board;
  Work m_work;
  std::deque<Piece> m_queue;
  std::uint64_t m_submitted = 0, m_done = 0;
  std::atomic<bool> m_stop{false};  // also read by the work, without the lock
  bool m_failed = false;
  std::exception_ptr m_error;
  std::thread m_thread;  // last: it starts once the members above exist
};


}  // namespace wfctl::copy_parts
