#include <wfctl/util/copy.hpp>

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <exception>
#include <fmt/format.h>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <wfctl/error.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/sha256.hpp>
#include <wfctl/util/signals.hpp>

namespace wfctl {

namespace {

// Large enough that per-call overhead vanishes, small enough that a buffer stays in L2
// between being filled, hashed and written.
constexpr std::size_t k_buffer_size = std::size_t{1} << 20;
// Dirty pages are handed to writeback every this many bytes (see with_writeback).
constexpr std::uint64_t k_writeback_chunk = std::uint64_t{64} << 20;

// copy_file_hashed maps the source in windows of this size, at most k_max_windows at a time,
// so that resident memory stays bounded whatever the file's size; the cost of mmap and munmap
// vanishes at this size.
constexpr std::size_t k_window = std::size_t{8} << 20;
// Windows mapped at once (being written, hashed, or waiting for either): enough slack that
// neither thread waits for the other when they run at about the same speed.
constexpr std::size_t k_max_windows = 4;
// One write(): large enough to keep the disk's queue full under O_DIRECT, small enough that
// progress and Ctrl-C are looked at every few milliseconds.
constexpr std::size_t k_write_piece = std::size_t{4} << 20;
// The hashing thread looks for a request to stop between pieces of this size (about 1.5 ms).
constexpr std::size_t k_hash_piece = std::size_t{2} << 20;
// O_DIRECT wants the file offset, the length and the buffer aligned to the device's logical
// block; a page is a multiple of every common one (and the mapping is page-aligned).
constexpr std::uint64_t k_direct_align = 4096;
// Up to this size a second thread and O_DIRECT cost more than they save.
constexpr std::uint64_t k_one_thread_max = std::uint64_t{4} << 20;

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

// Reading a mapping raises SIGBUS where the file has shrunk below it (or its pages cannot be
// read). The hash reads mappings only through hash_mapped(), which turns that signal into a
// return value; a SIGBUS anywhere else gets the disposition that was there before.
thread_local sigjmp_buf* t_bus_target = nullptr;
struct sigaction g_previous_bus {};

void on_sigbus(int sig, siginfo_t* info, void* context) {
  if (sigjmp_buf* target = t_bus_target) siglongjmp(*target, 1);
  if (g_previous_bus.sa_flags & SA_SIGINFO) {
    g_previous_bus.sa_sigaction(sig, info, context);
  } else if (g_previous_bus.sa_handler != SIG_DFL && g_previous_bus.sa_handler != SIG_IGN) {
    g_previous_bus.sa_handler(sig);
  } else {
    // Back to the old disposition: the faulting access runs again on return and gets it; a
    // SIGBUS sent by kill() is sent again.
    ::sigaction(SIGBUS, &g_previous_bus, nullptr);
    if (info->si_code <= 0) ::raise(sig);
  }
}

void install_bus_guard() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sigemptyset(&sa.sa_mask);
    // SA_NODEFER: leaving the handler by siglongjmp then needs no signal mask restored.
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    ::sigaction(SIGBUS, &sa, &g_previous_bus);
  });
}

// Hashes `n` mapped bytes; false when reading them raised SIGBUS (`hash` is then spoilt).
bool hash_mapped(Sha256& hash, const char* data, std::size_t n) {
  sigjmp_buf target;
  if (sigsetjmp(target, 0) != 0) {
    t_bus_target = nullptr;
    return false;
  }
  t_bus_target = &target;
  try {
    hash.update(data, n);
  } catch (...) {
    t_bus_target = nullptr;
    throw;
  }
  t_bus_target = nullptr;
  return true;
}

// A read-only shared mapping of [offset, offset + length) of a file, unmapped on destruction.
class Mapping {
 public:
  /// Maps the range, with its pages mapped in at once when `populate`; throws Error naming
  /// `what`.
  Mapping(int fd, std::uint64_t offset, std::size_t length, const std::string& what,
          bool populate = false)
      : m_length(length) {
    void* p = ::mmap(nullptr, length, PROT_READ, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd,
                     static_cast<off_t>(offset));
    if (p == MAP_FAILED) throw errno_error(errno, "cannot map " + what);
    m_data = static_cast<const char*>(p);
    (void)::madvise(p, length, MADV_SEQUENTIAL);  // read once, in order: large readahead
  }
  ~Mapping() { ::munmap(const_cast<char*>(m_data), m_length); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  const char* data() const { return m_data; }
  std::size_t size() const { return m_length; }

 private:
  const char* m_data = nullptr;
  std::size_t m_length = 0;
};

// Where copy_file_hashed writes: at the descriptor's position, with O_DIRECT when the target
// is a regular file whose file system takes it (the page cache is bypassed, so the writes
// cost neither a copy nor writeback on the CPU the hash needs), else through the page cache.
// The descriptor's flags are restored on destruction.
class Output {
 public:
  Output(int fd, std::string what, bool try_direct) : m_fd(fd), m_what(std::move(what)) {
    m_flags = ::fcntl(fd, F_GETFL);
    struct stat st {};
    if (!try_direct || m_flags < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
    const off_t pos = ::lseek(fd, 0, SEEK_CUR);
    // A file system without O_DIRECT refuses the flag here (EINVAL): the writes stay buffered.
    if (pos >= 0 && pos % static_cast<off_t>(k_direct_align) == 0 &&
        ::fcntl(fd, F_SETFL, m_flags | O_DIRECT) == 0)
      m_direct = true;
  }
  ~Output() { buffered(); }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  /// Writes all `n` bytes of a mapping; false when reading them failed (EFAULT: the source
  /// shrank below the mapping). Throws Error for a failed write, Error(interrupted) on Ctrl-C
  /// while a pipe blocks.
  bool write(const char* data, std::size_t n) {
    while (n > 0) {
      std::size_t want = n;
      if (m_direct) {
        want = n / k_direct_align * k_direct_align;
        if (want == 0) {  // the unaligned tail of the file
          buffered();
          want = n;
        }
      }
      const ssize_t k = ::write(m_fd, data, want);
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
      if (m_direct && static_cast<std::uint64_t>(k) % k_direct_align != 0) buffered();
    }
    return true;
  }

 private:
  void buffered() noexcept {
    if (m_direct) (void)::fcntl(m_fd, F_SETFL, m_flags);
    m_direct = false;
  }

  int m_fd;
  std::string m_what;
  int m_flags = -1;
  bool m_direct = false;
};

bool same_file_state(const struct stat& a, const struct stat& b) {
  return a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

Error changed_error(const std::string& what) {
  return Error(ErrorKind::conflict, what + " changed while it was being copied",
               "try again once it is complete");
}

// Why reading a mapping of `in_fd` failed: the file changed (shrank), or its pages could not
// be read.
Error unreadable_error(int in_fd, const struct stat& before, const std::string& what) {
  struct stat now {};
  if (::fstat(in_fd, &now) == 0 && !same_file_state(before, now)) return changed_error(what);
  return errno_error(EIO, "cannot read " + what);
}

// The hash of a mapped copy, on a second thread: the windows the writer hands over, in order.
// They arrive with their pages already mapped in (MAP_POPULATE, on the writer's thread), so
// this thread spends its time in SHA-256, not in page faults.
class WindowHasher {
 public:
  WindowHasher() : m_thread([this] { run(); }) {}
  ~WindowHasher() {
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();  // stops within one piece: the windows in hand outlive this object
  }
  WindowHasher(const WindowHasher&) = delete;
  WindowHasher& operator=(const WindowHasher&) = delete;

  /// Queues the next `n` bytes; they must stay mapped until waited() has passed them.
  void submit(const char* data, std::size_t n) {
    {
      std::lock_guard lock(m_mutex);
      m_queue.emplace_back(data, n);
    }
    m_cv.notify_all();
  }
  /// Waits until more than `seen` bytes are hashed, or the hash failed; returns the bytes
  /// hashed, or nullopt after a SIGBUS. Rethrows what the hashing thread threw.
  std::optional<std::uint64_t> wait_beyond(std::uint64_t seen) {
    std::unique_lock lock(m_mutex);
    m_cv.wait(lock, [&] { return m_hashed > seen || m_failed; });
    if (m_error) std::rethrow_exception(m_error);
    if (m_failed) return std::nullopt;
    return m_hashed;
  }
  /// The bytes hashed so far, without waiting (and with the same failures as wait_beyond).
  std::optional<std::uint64_t> hashed() {
    std::lock_guard lock(m_mutex);
    if (m_error) std::rethrow_exception(m_error);
    if (m_failed) return std::nullopt;
    return m_hashed;
  }
  /// The hex digest of everything submitted, once wait_beyond has seen it all hashed.
  std::string digest() {
    std::lock_guard lock(m_mutex);
    return m_hash.hex_digest();
  }

 private:
  void run() {
    std::unique_lock lock(m_mutex);
    for (;;) {
      m_cv.wait(lock, [this] { return m_stop || !m_queue.empty(); });
      if (m_stop) return;
      const auto [data, n] = m_queue.front();
      lock.unlock();
      bool ok = true;
      std::exception_ptr error;
      try {
        for (std::size_t i = 0; i < n && ok && !m_stop.load(std::memory_order_relaxed);
             i += k_hash_piece)
          ok = hash_mapped(m_hash, data + i, std::min(k_hash_piece, n - i));
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      if (m_stop) return;
      m_queue.pop_front();
      if (!ok || error) {
        m_error = error;
        m_failed = true;
        m_cv.notify_all();
        return;
      }
      m_hashed += n;
      m_cv.notify_all();
    }
  }

  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<std::pair<const char*, std::size_t>> m_queue;
  Sha256 m_hash;  // this thread's until it has ended or the queue is hashed
  std::uint64_t m_hashed = 0;
  std::atomic<bool> m_stop{false};  // also read between pieces, without the lock
  bool m_failed = false;
  std::exception_ptr m_error;
  std::thread m_thread;  // last: it starts once the members above exist
};

// A small file on the calling thread: one mapping, hashed, then written through the cache.
Copied copy_small(int in_fd, const struct stat& before, int out_fd, const std::string& what,
                  const ChunkFn& after_chunk, const std::string& out_what) {
  const auto size = static_cast<std::size_t>(before.st_size);
  Mapping map(in_fd, 0, size, what);
  Sha256 hash;
  if (!hash_mapped(hash, map.data(), size)) throw unreadable_error(in_fd, before, what);
  Output out(out_fd, out_what, false);
  if (!out.write(map.data(), size)) throw unreadable_error(in_fd, before, what);
  if (after_chunk) after_chunk(size);
  return {size, hash.hex_digest()};
}

// A large file: this thread maps it window by window, hands each window to the hashing thread
// and writes it, O_DIRECT where possible. At most k_max_windows stay mapped.
Copied copy_large(int in_fd, const struct stat& before, int out_fd, const std::string& what,
                  const ChunkFn& after_chunk, const std::string& out_what) {
  const auto size = static_cast<std::uint64_t>(before.st_size);
  Output out(out_fd, out_what, true);
  std::deque<Mapping> mapped;     // being written, hashed or waiting to be, oldest first
  std::uint64_t mapped_from = 0;  // the offset of mapped.front()
  WindowHasher hasher;            // after `mapped`: stopped and joined before it is unmapped
  std::uint64_t written = 0, hashed = 0, reported = 0;
  // Progress is what is both written and hashed; after_chunk runs whenever it moves.
  const auto report = [&] {
    const std::uint64_t done = std::min(written, hashed);
    if (done > reported && after_chunk) after_chunk(done);
    reported = std::max(reported, done);
  };
  const auto unmap_hashed = [&] {
    while (!mapped.empty() && hashed >= mapped_from + mapped.front().size()) {
      mapped_from += mapped.front().size();
      mapped.pop_front();
    }
  };
  const auto wait_for_hash = [&](std::uint64_t until) {
    while (hashed < until) {
      const auto now = hasher.wait_beyond(hashed);
      if (!now) throw unreadable_error(in_fd, before, what);
      hashed = *now;
      report();
    }
    unmap_hashed();
  };
  for (std::uint64_t off = 0; off < size; off += k_window) {
    const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(k_window, size - off));
    if (mapped.size() >= k_max_windows) wait_for_hash(mapped_from + mapped.front().size());
    const Mapping& window = mapped.emplace_back(in_fd, off, len, what, true);
    hasher.submit(window.data(), len);
    // Read ahead of the writes when the source is not in the page cache.
    if (off + len < size)
      (void)::posix_fadvise(in_fd, static_cast<off_t>(off + len), k_window, POSIX_FADV_WILLNEED);
    for (std::size_t i = 0; i < len; i += k_write_piece) {
      const std::size_t n = std::min(k_write_piece, len - i);
      if (!out.write(window.data() + i, n)) throw unreadable_error(in_fd, before, what);
      written += n;
      const auto now = hasher.hashed();
      if (!now) throw unreadable_error(in_fd, before, what);
      hashed = *now;
      report();
    }
    unmap_hashed();
  }
  wait_for_hash(size);
  return {size, hasher.digest()};
}

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
  // An empty size may not mean an empty file (/proc), and a file system may refuse mmap:
  // both are streamed through buffers.
  bool mappable = size > 0;
  if (mappable) {
    void* probe = ::mmap(nullptr, 1, PROT_READ, MAP_SHARED, in_fd, 0);
    mappable = probe != MAP_FAILED;
    if (mappable) ::munmap(probe, 1);
  }
  if (!mappable) {
    if (::lseek(in_fd, 0, SEEK_SET) != 0) throw errno_error(errno, "cannot rewind " + what);
    return copy_hashed(fd_reader(in_fd, what), fd_writer(out_fd, out_what), after_chunk);
  }
  install_bus_guard();
  const Copied copied = size <= k_one_thread_max
                            ? copy_small(in_fd, before, out_fd, what, after_chunk, out_what)
                            : copy_large(in_fd, before, out_fd, what, after_chunk, out_what);
  struct stat after {};
  if (::fstat(in_fd, &after) != 0) throw errno_error(errno, "cannot stat " + what);
  if (!same_file_state(before, after)) throw changed_error(what);
  return copied;
}

}  // namespace wfctl
