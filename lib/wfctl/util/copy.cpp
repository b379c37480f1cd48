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
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>
#include <wfctl/error.hpp>
#include <wfctl/util/copy_parts.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/sha256.hpp>
#include <wfctl/util/signals.hpp>

namespace wfctl {

namespace {

using namespace copy_parts;  // NOLINT: this file's own parts

// Large enough that per-call overhead vanishes, small enough that a buffer stays in L2
// between being filled, hashed and written.
constexpr std::size_t k_buffer_size = std::size_t{1} << 20;
// Dirty pages are handed to writeback every this many bytes (see with_writeback).
constexpr std::uint64_t k_writeback_chunk = std::uint64_t{64} << 20;

// copy_file_hashed maps the source in windows of this size, at most k_max_windows at a time,
// so that resident memory stays bounded whatever the file's size; the cost of mmap and munmap
// vanishes at this size.
constexpr std::size_t k_window = std::size_t{8} << 20;
// Windows mapped at once (being written, hashed, or waiting for either): the slack that lets
// the hash run on while a shared disk stalls the writes, and the other way round. On a busy
// two-core machine four cost about a fifth more time than five; six gained nothing more.
constexpr std::size_t k_max_windows = 5;
// The hashing thread looks for a request to stop between pieces of this size (about 1.5 ms).
constexpr std::size_t k_hash_piece = std::size_t{2} << 20;
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

// A small file on the calling thread: one mapping, hashed, then written through the cache.
Copied copy_small(int in_fd, const struct stat& before, int out_fd, const std::string& what,
                  const ChunkFn& after_chunk, const std::string& out_what) {
  const auto size = static_cast<std::size_t>(before.st_size);
  Mapping map(in_fd, 0, size, what);
  Sha256 hash;
  if (!hash_mapped(hash, map.data(), size)) throw unreadable_error(in_fd, before, what);
  Output out(out_fd, out_what, size, false);
  if (!out.write(map.data(), size)) throw unreadable_error(in_fd, before, what);
  if (after_chunk) after_chunk(size);
  return {size, hash.hex_digest()};
}

// A large file: this thread maps it window by window and hands each window to the hashing
// thread and to a writing thread, then reports progress as they move. With O_DIRECT, two
// threads write alternate windows: a synchronous O_DIRECT write leaves the disk idle between
// requests, and with two at once a shared disk gave about a fifth more throughput. At most
// k_max_windows stay mapped.
Copied copy_large(int in_fd, const struct stat& before, int out_fd, const std::string& what,
                  const ChunkFn& after_chunk, const std::string& out_what) {
  const auto size = static_cast<std::uint64_t>(before.st_size);
  Output out(out_fd, out_what, size, true);
  Sha256 hash;
  struct Window {
    Window(int fd, std::uint64_t off, std::size_t len, const std::string& what)
        : map(fd, off, len, what, true), offset(off) {}
    Mapping map;
    std::uint64_t offset;
    std::size_t writer = 0;        // which writer has it
    std::uint64_t written_at = 0;  // that writer's done() once it is written
    std::size_t tail = 0;          // bytes at its end left for this thread to write
  };
  std::deque<Window> mapped;      // oldest first; only this thread touches it
  std::uint64_t mapped_from = 0;  // the offset of mapped.front()
  std::uint64_t reported = 0;
  // The workers come after what they use, so they are stopped and joined first.
  Board board;
  WindowWorker hasher(
      board, [&](const char* data, std::size_t n, std::uint64_t, const std::atomic<bool>& stop) {
        for (std::size_t i = 0; i < n && !stop.load(std::memory_order_relaxed); i += k_hash_piece)
          if (!hash_mapped(hash, data + i, std::min(k_hash_piece, n - i))) return false;
        return true;
      });
  const auto write = [&](const char* data, std::size_t n, std::uint64_t offset,
                         const std::atomic<bool>&) {
    return out.positional() ? out.write_at(data, n, offset) : out.write(data, n);
  };
  std::vector<std::unique_ptr<WindowWorker>> writers;
  for (int i = out.positional() ? 2 : 1; i > 0; --i)
    writers.push_back(std::make_unique<WindowWorker>(board, write));

  // With the board locked: rethrows a worker's failure; drops the windows both hashed and
  // written; returns the bytes both hashed and written (from the start, without gaps).
  const auto settle = [&]() -> std::uint64_t {
    const auto check = [&](const WindowWorker& worker) {
      if (!worker.failed()) return;
      worker.rethrow_failure();
      throw unreadable_error(in_fd, before, what);
    };
    check(hasher);
    for (const auto& writer : writers) check(*writer);
    const auto done = [&](const Window& w) {
      return w.tail == 0 && writers[w.writer]->done() >= w.written_at &&
             hasher.done() >= w.offset + w.map.size();
    };
    while (!mapped.empty() && done(mapped.front())) {
      mapped_from += mapped.front().map.size();
      mapped.pop_front();
    }
    return mapped_from;
  };
  // Waits until `ready` holds (with the board locked), running after_chunk as progress moves.
  const auto wait_until = [&](const auto& ready) {
    std::unique_lock lock(board.mutex);
    for (;;) {
      const std::uint64_t progress = settle();
      if (progress > reported) {
        reported = progress;
        lock.unlock();
        if (after_chunk) after_chunk(progress);  // may throw: the workers stop, then unmap
        lock.lock();
        continue;
      }
      if (ready()) return;
      board.cv.wait(lock);
    }
  };

  for (std::uint64_t off = 0, k = 0; off < size; off += k_window, ++k) {
    const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(k_window, size - off));
    wait_until([&] { return mapped.size() < k_max_windows; });
    Window& w = mapped.emplace_back(in_fd, off, len, what);
    hasher.submit(w.map.data(), len, off);
    // Read ahead of the writes when the source is not in the page cache.
    if (off + len < size)
      (void)::posix_fadvise(in_fd, static_cast<off_t>(off + len), k_window, POSIX_FADV_WILLNEED);
    // An unaligned tail waits until the other writes are done: writing it takes O_DIRECT off
    // the descriptor, for every thread.
    if (out.positional()) w.tail = len % k_direct_align;
    w.writer = k % writers.size();
    w.written_at = len > w.tail ? writers[w.writer]->submit(w.map.data(), len - w.tail, off)
                                : writers[w.writer]->submitted();
  }
  if (!mapped.empty() && mapped.back().tail > 0) {
    Window& last = mapped.back();
    wait_until([&] {
      return std::all_of(writers.begin(), writers.end(),
                         [](const auto& wr) { return wr->done() == wr->submitted(); });
    });
    const std::size_t from = last.map.size() - last.tail;
    if (!out.write_at(last.map.data() + from, last.tail, last.offset + from))
      throw unreadable_error(in_fd, before, what);
    last.tail = 0;
  }
  wait_until([&] { return mapped.empty(); });
  out.finish(size);
  return {size, hash.hex_digest()};
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
