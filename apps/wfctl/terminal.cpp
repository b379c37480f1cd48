#include "terminal.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <cstdlib>
#include <iostream>
#include <streambuf>
#include <string>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/utf8.hpp>

namespace wfctl::cli {

namespace {

// The bytes of `in` as a terminal may show them; an incomplete UTF-8 sequence at the end is
// left in `in` for the next call unless `final`.
std::string escape_for_terminal(std::string& in, bool final) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) out += fmt::format("\\x{:02x}", c);
      else out += static_cast<char>(c);
      ++i;
      continue;
    }
    char32_t cp = 0;
    const std::size_t n = utf8_sequence(in, i, cp);
    if (n == 0) {
      // Possibly a sequence cut by the buffer: wait for the rest, unless nothing more comes.
      if (!final && in.size() - i < 4 && (c & 0xc0) == 0xc0) break;
      out += fmt::format("\\x{:02x}", c);
      ++i;
      continue;
    }
    if (is_c1_control(cp)) out += fmt::format("\\u{:04x}", static_cast<unsigned>(cp));
    else out.append(in, i, n);
    i += n;
  }
  in.erase(0, i);
  return out;
}

class EscapingBuffer final : public std::streambuf {
 public:
  explicit EscapingBuffer(int fd) : m_fd(fd) {}
  ~EscapingBuffer() override { flush(true); }

 protected:
  int_type overflow(int_type ch) override {
    if (traits_type::eq_int_type(ch, traits_type::eof())) return sync() == 0 ? 0 : traits_type::eof();
    m_pending.push_back(traits_type::to_char_type(ch));
    if (m_pending.size() >= 8192 && !flush(false)) return traits_type::eof();
    return ch;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    m_pending.append(s, static_cast<std::size_t>(n));
    if (m_pending.size() >= 8192 && !flush(false)) return 0;
    return n;
  }
  int sync() override { return flush(false) ? 0 : -1; }

 private:
  bool flush(bool final) {
    std::string text = escape_for_terminal(m_pending, final);
    try {
      write_all(m_fd, text.data(), text.size());
      return true;
    } catch (...) {
      return false;
    }
  }

  int m_fd;
  std::string m_pending;
};

}  // namespace

namespace {
std::streambuf* g_cout_original = nullptr;
std::streambuf* g_cerr_original = nullptr;
EscapingBuffer* g_cout_escaping = nullptr;
EscapingBuffer* g_cerr_escaping = nullptr;

// Before the standard streams are flushed for the last time (in a static destructor that runs
// after this), the escaping buffers write what they hold and the streams get their own back.
void restore_streams() {
  if (g_cout_escaping) {
    std::cout.flush();
    std::cout.rdbuf(g_cout_original);
    delete g_cout_escaping;
    g_cout_escaping = nullptr;
  }
  if (g_cerr_escaping) {
    std::cerr.flush();
    std::cerr.rdbuf(g_cerr_original);
    delete g_cerr_escaping;
    g_cerr_escaping = nullptr;
  }
}
}  // namespace

void protect_terminals() {
  const bool out = ::isatty(STDOUT_FILENO) == 1, err = ::isatty(STDERR_FILENO) == 1;
  if (!out && !err) return;
  if (out) {
    g_cout_escaping = new EscapingBuffer(STDOUT_FILENO);
    g_cout_original = std::cout.rdbuf(g_cout_escaping);
  }
  if (err) {
    g_cerr_escaping = new EscapingBuffer(STDERR_FILENO);
    g_cerr_original = std::cerr.rdbuf(g_cerr_escaping);
  }
  std::atexit(restore_streams);
}

void write_stderr_raw(const char* data, unsigned long size) {
  std::cerr.flush();
  try {
    write_all(STDERR_FILENO, data, size);
  } catch (...) {
    // A progress bar that cannot be drawn is no reason to fail a transfer.
  }
}

}  // namespace wfctl::cli
