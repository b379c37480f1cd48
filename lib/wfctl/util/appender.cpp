#include <wfctl/util/appender.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <vector>
#include <wfctl/error.hpp>
#include <wfctl/util/copy_parts.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/sha256.hpp>

namespace wfctl {

namespace {

using namespace copy_parts;  // NOLINT: util's own parts

// Large enough that O_DIRECT requests keep the disk busy and per-block overhead vanishes.
constexpr std::size_t k_block = std::size_t{4} << 20;
// Blocks held at once: the one being filled and up to three being hashed or written.
constexpr std::size_t k_max_blocks = 4;
// How far ahead of the writes the file is allocated (see reserve()).
constexpr std::uint64_t k_reserve = std::uint64_t{64} << 20;

struct FreeDeleter {
  void operator()(char* p) const noexcept { std::free(p); }
};
using Buffer = std::unique_ptr<char, FreeDeleter>;

Buffer aligned_block() {
  void* p = std::aligned_alloc(k_direct_align, k_block);
  if (!p) throw std::bad_alloc();
  return Buffer(static_cast<char*>(p));
}

}  // namespace

class Appender::Impl {
 public:
  Impl(int fd, std::string what) : m_fd(fd), m_what(std::move(what)) {}
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void append(const char* data, std::size_t n) {
    if (m_finished) throw Error(ErrorKind::internal, "cannot append to " + m_what + " after its end");
    while (n > 0) {
      if (!m_current.data) m_current.data = take_buffer();
      const std::size_t k = std::min(n, k_block - m_current.fill);
      std::memcpy(m_current.data.get() + m_current.fill, data, k);
      m_current.fill += k;
      m_total += k;
      data += k;
      n -= k;
      if (m_current.fill == k_block) submit(m_current.fill);
    }
  }

  std::uint64_t size() const { return m_total; }

  Copied finish() {
    if (m_finished) throw Error(ErrorKind::internal, m_what + " is already finished");
    m_finished = true;
    if (!m_out) {  // within the first block: all on this thread, through the cache
      if (m_current.fill > 0) {
        m_hash.update(m_current.data.get(), m_current.fill);
        write_all(m_fd, m_current.data.get(), m_current.fill, m_what);
      }
      return {m_total, m_hash.hex_digest()};
    }
    if (m_current.fill > 0) {
      // With O_DIRECT the unaligned tail is written last, on this thread, once the other
      // writes are done: writing it takes O_DIRECT off the descriptor for every thread.
      const std::size_t tail = m_out->positional() ? m_current.fill % k_direct_align : 0;
      const std::uint64_t at = m_submitted + (m_current.fill - tail);
      const char* tail_data = m_current.data.get() + (m_current.fill - tail);
      submit(m_current.fill - tail, m_current.fill);
      if (tail > 0) {
        wait_until([&] {
          return std::all_of(m_writers.begin(), m_writers.end(),
                             [](const auto& w) { return w->done() == w->submitted(); });
        });
        if (!m_out->write_at(tail_data, tail, at)) throw errno_error(EIO, "cannot write " + m_what);
      }
    }
    wait_until([&] { return m_flight.empty(); });
    // What reserve() allocated past the end goes.
    if (m_reserved > m_total && ::ftruncate(m_fd, static_cast<off_t>(m_base + m_total)) != 0)
      throw errno_error(errno, "cannot write " + m_what);
    m_out->finish(m_total);
    // The idle threads go, then the Output, which hands the descriptor back without O_DIRECT.
    m_writers.clear();
    m_hasher.reset();
    m_out.reset();
    return {m_total, m_hash.hex_digest()};
  }

 private:
  struct Block {
    Buffer data;
    std::size_t fill = 0;
    std::uint64_t offset = 0;
    std::size_t writer = 0;        // which writer has it
    std::uint64_t written_at = 0;  // that writer's done() once it is written
  };

  // Hands the current block to the hasher (all of its `hashed` bytes, by default the
  // `written` ones) and to a writer (the first `written` bytes).
  void submit(std::size_t written, std::size_t hashed = 0) {
    if (hashed == 0) hashed = written;
    if (!m_hasher) start();
    reserve(m_submitted + hashed);
    {
      std::lock_guard lock(m_board.mutex);
      settle();  // a failed write stops the stream here, a block later at most
    }
    Block& b = m_flight.emplace_back(std::move(m_current));
    m_current = Block{};
    b.offset = m_submitted;
    m_hasher->submit(b.data.get(), hashed, b.offset);
    b.writer = m_blocks_submitted++ % m_writers.size();
    b.written_at = written > 0 ? m_writers[b.writer]->submit(b.data.get(), written, b.offset)
                               : m_writers[b.writer]->submitted();
    b.fill = hashed;
    m_submitted += hashed;
  }

  // With O_DIRECT, keeps the file allocated (and sized) k_reserve ahead of `upto` bytes: on
  // ext4 direct writes past the end of the file are serialized, writes inside it run side by
  // side on both writers. Only a help: where it fails, the writes say why.
  void reserve(std::uint64_t upto) {
    if (!m_out->positional() || upto <= m_reserved) return;
    if (::fallocate(m_fd, 0, static_cast<off_t>(m_base + m_reserved), static_cast<off_t>(k_reserve)) == 0)
      m_reserved += k_reserve;
  }

  // The Output and the threads; all of them or, when a thread cannot start, none.
  void start() {
    const off_t pos = ::lseek(m_fd, 0, SEEK_CUR);
    m_base = pos > 0 ? static_cast<std::uint64_t>(pos) : 0;
    m_out.emplace(m_fd, m_what, 0, true);
    try {
      const auto write = [this](const char* data, std::size_t n, std::uint64_t offset, const std::atomic<bool>&) {
        return m_out->positional() ? m_out->write_at(data, n, offset) : m_out->write(data, n);
      };
      std::vector<std::unique_ptr<WindowWorker>> writers;
      for (int i = m_out->positional() ? 2 : 1; i > 0; --i)
        writers.push_back(std::make_unique<WindowWorker>(m_board, write));
      m_hasher = std::make_unique<WindowWorker>(
          m_board, [this](const char* data, std::size_t n, std::uint64_t, const std::atomic<bool>&) {
            m_hash.update(data, n);
            return true;
          });
      m_writers = std::move(writers);
    } catch (...) {
      m_out.reset();
      throw;
    }
  }

  Buffer take_buffer() {
    // A new block only while fewer than k_max_blocks exist (all in flight: none is spare).
    if (m_spare.empty() && m_flight.size() >= k_max_blocks) wait_until([&] { return !m_spare.empty(); });
    if (!m_spare.empty()) {
      Buffer b = std::move(m_spare.back());
      m_spare.pop_back();
      return b;
    }
    return aligned_block();
  }

  // With the board locked: rethrows a worker's failure; moves the blocks both hashed and
  // written (oldest first) to the spares.
  void settle() {
    const auto check = [&](const WindowWorker& w) {
      if (!w.failed()) return;
      w.rethrow_failure();
      throw errno_error(EIO, "cannot write " + m_what);
    };
    check(*m_hasher);
    for (const auto& w : m_writers) check(*w);
    while (!m_flight.empty()) {
      const Block& b = m_flight.front();
      if (m_writers[b.writer]->done() < b.written_at || m_hasher->done() < b.offset + b.fill) break;
      m_spare.push_back(std::move(m_flight.front().data));
      m_flight.pop_front();
    }
  }

  template <typename Ready>
  void wait_until(const Ready& ready) {
    std::unique_lock lock(m_board.mutex);
    for (;;) {
      settle();
      if (ready()) return;
      m_board.cv.wait(lock);
    }
  }

  int m_fd;
  std::string m_what;
  std::uint64_t m_total = 0;      // bytes appended
  std::uint64_t m_submitted = 0;  // bytes handed to the threads
  std::uint64_t m_base = 0;       // the descriptor's position at the start
  std::uint64_t m_reserved = 0;   // bytes allocated by reserve(), from m_base
  std::size_t m_blocks_submitted = 0;
  bool m_finished = false;
  Sha256 m_hash;  // updated by the hasher; read here once it is idle
  Block m_current;
  std::deque<Block> m_flight;  // handed over, oldest first
  std::vector<Buffer> m_spare;
  std::optional<Output> m_out;
  // The threads come last: they are stopped and joined before what they use goes.
  Board m_board;
  std::unique_ptr<WindowWorker> m_hasher;
  std::vector<std::unique_ptr<WindowWorker>> m_writers;
};

Appender::Appender(int fd, std::string what) : m_impl(std::make_unique<Impl>(fd, std::move(what))) {}
Appender::Appender(Appender&&) noexcept = default;
Appender& Appender::operator=(Appender&&) noexcept = default;
Appender::~Appender() = default;

void Appender::append(const char* data, std::size_t n) { m_impl->append(data, n); }
std::uint64_t Appender::size() const { return m_impl->size(); }
Copied Appender::finish() { return m_impl->finish(); }

}  // namespace wfctl
