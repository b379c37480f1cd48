#include <wfctl/util/copy.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <exception>
#include <fmt/format.h>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <wfctl/error.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/sha256.hpp>

namespace wfctl {

namespace {

// Large enough that per-call overhead vanishes, small enough that a buffer stays in L2
// between being filled, hashed and written.
constexpr std::size_t k_buffer_size = std::size_t{1} << 20;
// The kernel copies this much per copy_file_range call between checks for Ctrl-C/progress.
constexpr std::size_t k_kernel_chunk = std::size_t{32} << 20;
// Dirty pages are handed to writeback every this many bytes (see with_writeback).
constexpr std::uint64_t k_writeback_chunk = std::uint64_t{64} << 20;

// Fills `buf` from `source` until it is full or the source ends; returns the bytes read.
std::size_t fill_buffer(const ReadFn& source, char* buf, std::size_t cap) {
  // Filling the whole buffer keeps writes large even when the source trickles.
  std::size_t fill = 0;
  while (fill < cap) {
    const std::size_t n = source(buf + fill, cap - fill);
    if (n == 0) break;
    if (n > cap - fill) {
      throw Error(ErrorKind::internal, "a reader returned more bytes than it was asked for");
    }
    fill += n;
  }
  return fill;
}

// SHA-256 on a second thread, one buffer at a time and in order, so that hashing (about
// 1.5 GB/s with SHA-NI, the slowest step of a copy) overlaps with reading and writing. The
// thread starts with the first buffer handed over, so small files never pay for it.
class BackgroundHasher {
 public:
  BackgroundHasher() = default;
  BackgroundHasher(const BackgroundHasher&) = delete;
  BackgroundHasher& operator=(const BackgroundHasher&) = delete;
  ~BackgroundHasher() {
    if (!m_thread.joinable()) return;
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();  // finishes the buffer in hand: its owner outlives this object
  }

  /// Waits for the previous buffer, then hashes `data` in the background; the caller must
  /// not change it until the next call of submit, update or hex_digest.
  void submit(const char* data, std::size_t n) {
    wait();
    if (!m_thread.joinable()) m_thread = std::thread([this] { run(); });
    {
      std::lock_guard lock(m_mutex);
      m_data = data;
      m_size = n;
      m_busy = true;
    }
    m_cv.notify_all();
  }
  /// Waits for the previous buffer, then hashes `data` on the calling thread.
  void update(const char* data, std::size_t n) {
    wait();
    m_hash.update(data, n);
  }
  std::string hex_digest() {
    wait();
    return m_hash.hex_digest();
  }

 private:
  void wait() {
    std::unique_lock lock(m_mutex);
    m_cv.wait(lock, [this] { return !m_busy; });
    if (m_error) std::rethrow_exception(std::exchange(m_error, nullptr));
  }
  void run() {
    std::unique_lock lock(m_mutex);
    for (;;) {
      m_cv.wait(lock, [this] { return m_busy || m_stop; });
      if (!m_busy) return;
      lock.unlock();
      std::exception_ptr error;
      try {
        m_hash.update(m_data, m_size);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      m_error = error;
      m_busy = false;
      m_cv.notify_all();
    }
  }

  Sha256 m_hash;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  const char* m_data = nullptr;
  std::size_t m_size = 0;
  bool m_busy = false;
  bool m_stop = false;
  std::exception_ptr m_error;
  std::thread m_thread;
};

}  // namespace

ChunkFn with_writeback(int fd, ChunkFn after_chunk) {
  return [fd, after_chunk = std::move(after_chunk), from = std::uint64_t{0}](std::uint64_t total) mutable {
    if (total - from >= k_writeback_chunk) {
      // Only a hint (a failure here resurfaces at fsync), so the result is ignored.
      (void)::sync_file_range(fd, static_cast<off_t>(from), static_cast<off_t>(total - from),
                              SYNC_FILE_RANGE_WRITE);
      from = total;
    }
    if (after_chunk) after_chunk(total);
  };
}

Copied copy_hashed(const ReadFn& source, const WriteFn& sink, const ChunkFn& after_chunk) {
  std::unique_ptr<char[]> bufs[2] = {std::make_unique_for_overwrite<char[]>(k_buffer_size),
                                     std::make_unique_for_overwrite<char[]>(k_buffer_size)};
  // Declared after the buffers, so destroyed (and joined) before them on an exception.
  BackgroundHasher hash;
  std::uint64_t total = 0;
  for (int i = 0;; i ^= 1) {
    // This buffer was last submitted two rounds ago; the previous round's submit waited for
    // it to be hashed.
    char* buf = bufs[i].get();
    const std::size_t fill = fill_buffer(source, buf, k_buffer_size);
    if (fill == k_buffer_size) {
      hash.submit(buf, fill);
    } else {
      hash.update(buf, fill);  // the last (or only) piece
    }
    if (fill > 0) sink(buf, fill);
    total += fill;
    if (after_chunk) after_chunk(total);
    if (fill < k_buffer_size) break;
  }
  return {total, hash.hex_digest()};
}

Copied copy_file_hashed(int in_fd, int out_fd, const std::string& what, const ChunkFn& after_chunk,
                        const std::string& out_what) {
  struct stat before {};
  if (::fstat(in_fd, &before) != 0) throw errno_error(errno, "cannot stat " + what);
  const auto size = static_cast<std::uint64_t>(before.st_size);

  // The hash thread reads the source on its own; the page cache serves both readers.
  std::atomic<bool> stop{false};
  std::exception_ptr hash_error;
  std::string digest;
  std::thread hasher([&] {
    try {
      Sha256 h;
      auto buf = std::make_unique_for_overwrite<char[]>(k_buffer_size);
      std::uint64_t off = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        ssize_t n = ::pread(in_fd, buf.get(), k_buffer_size, static_cast<off_t>(off));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw errno_error(errno, "cannot read " + what);
        if (n == 0) break;
        h.update(buf.get(), static_cast<std::size_t>(n));
        off += static_cast<std::uint64_t>(n);
      }
      digest = h.hex_digest();
    } catch (...) {
      hash_error = std::current_exception();
    }
  });
  struct Joiner {
    std::thread& t;
    std::atomic<bool>& stop;
    ~Joiner() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } joiner{hasher, stop};

  std::uint64_t done = 0;
  loff_t in_off = 0;
  bool kernel = true;
  while (kernel) {
    ssize_t n = ::copy_file_range(in_fd, &in_off, out_fd, nullptr, k_kernel_chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP) && done == 0) {
      kernel = false;  // e.g. a file system that cannot: copy through user space instead
      break;
    }
    if (n < 0) throw errno_error(errno, "cannot copy " + what);
    if (n == 0) break;
    done += static_cast<std::uint64_t>(n);
    if (after_chunk) after_chunk(done);
  }
  if (!kernel) {
    stop = true;
    hasher.join();
    if (::lseek(in_fd, 0, SEEK_SET) != 0) throw errno_error(errno, "cannot rewind " + what);
    return copy_hashed(fd_reader(in_fd, what), fd_writer(out_fd, out_what), after_chunk);
  }
  hasher.join();
  if (hash_error) std::rethrow_exception(hash_error);

  struct stat after {};
  if (::fstat(in_fd, &after) != 0) throw errno_error(errno, "cannot stat " + what);
  if (after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
      after.st_mtim.tv_nsec != before.st_mtim.tv_nsec || done != size)
    throw Error(ErrorKind::conflict, what + " changed while it was being copied", "try again once it is complete");
  return {done, digest};
}

}  // namespace wfctl
