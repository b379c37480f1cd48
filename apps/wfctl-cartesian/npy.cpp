#include "npy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

#include "atomic_file.hpp"

namespace cartesian {

namespace {

constexpr char k_magic[] = "\x93NUMPY";
constexpr std::size_t k_magic_size = 6;
constexpr std::size_t k_max_header = 1 << 20;  // NumPy itself refuses more than 10 000 bytes

[[noreturn]] void bad_header(const std::string& why) {
  throw Failure(Exit::invalid_input, "bad .npy header: " + why);
}

// A recursive-descent reader of the one Python literal a .npy header holds: a dict of
// string keys whose values are strings, True/False, or tuples of non-negative integers.
class DictParser {
 public:
  explicit DictParser(std::string_view text) : m_text(text) {}

  NpyLayout parse() {
    std::optional<std::string> descr;
    std::optional<bool> fortran;
    std::optional<std::vector<std::uint64_t>> shape;
    skip_space();
    expect('{', "'{' (the header is a dict)");
    skip_space();
    while (!eat('}')) {
      const std::string key = string_literal("a key");
      skip_space();
      expect(':', "':' after the key '" + key + "'");
      skip_space();
      if (key == "descr") {
        if (descr) bad_header("the key 'descr' appears twice");
        descr = string_literal("the value of 'descr'");
      } else if (key == "fortran_order") {
        if (fortran) bad_header("the key 'fortran_order' appears twice");
        fortran = boolean();
      } else if (key == "shape") {
        if (shape) bad_header("the key 'shape' appears twice");
        shape = tuple();
      } else {
        bad_header("unexpected key '" + key +
                   "' (a .npy header has 'descr', 'fortran_order', 'shape')");
      }
      skip_space();
      if (eat(',')) {
        skip_space();
      } else if (peek() != '}') {
        bad_header(where("',' or '}'"));
      }
    }
    skip_space();
    if (m_pos != m_text.size()) bad_header(where("the end of the header"));
    if (!descr || !fortran || !shape) {
      bad_header(std::string("the key '") +
                 (!descr     ? "descr"
                  : !fortran ? "fortran_order"
                             : "shape") +
                 "' is missing");
    }
    return layout(*descr, *fortran, *shape);
  }

 private:
  static NpyLayout layout(const std::string& descr, bool fortran,
                          const std::vector<std::uint64_t>& shape) {
    NpyLayout l;
    if (descr == "<c8" || descr == ">c8") {
      l.item_size = 8;
    } else if (descr == "<c16" || descr == ">c16") {
      l.item_size = 16;
    } else {
      throw Failure(Exit::invalid_input,
                    "unsupported dtype '" + descr +
                        "': k-space must be complex64 or complex128 ('<c8', '>c8', "
                        "'<c16', '>c16')");
    }
    l.big_endian = descr[0] == '>';
    l.fortran_order = fortran;
    if (shape.size() != 2) {
      throw Failure(Exit::invalid_input, "the array has " + std::to_string(shape.size()) +
                                             " dimension(s): k-space must be a 2-D array");
    }
    const std::string dims = "(" + std::to_string(shape[0]) + ", " + std::to_string(shape[1]) + ")";
    if (shape[0] == 0 || shape[1] == 0)
      throw Failure(Exit::invalid_input, "the shape " + dims + " is empty");
    if (shape[0] > k_max_side || shape[1] > k_max_side) {
      throw Failure(Exit::invalid_input,
                    "the shape " + dims + " has a side beyond " + std::to_string(k_max_side));
    }
    if (shape[0] * shape[1] > k_max_elements) {  // both <= 2^16: no overflow
      throw Failure(Exit::invalid_input, "the shape " + dims + " has more than " +
                                             std::to_string(k_max_elements) + " elements");
    }
    l.rows = static_cast<std::size_t>(shape[0]);
    l.cols = static_cast<std::size_t>(shape[1]);
    return l;
  }

  char peek() const { return m_pos < m_text.size() ? m_text[m_pos] : '\0'; }
  bool eat(char c) {
    if (m_pos < m_text.size() && m_text[m_pos] == c) {
      ++m_pos;
      return true;
    }
    return false;
  }
  void expect(char c, const std::string& what) {
    if (!eat(c)) bad_header(where(what));
  }
  void skip_space() {
    while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\t' ||
                                     m_text[m_pos] == '\n' || m_text[m_pos] == '\r'))
      ++m_pos;
  }
  std::string where(const std::string& expected) const {
    if (m_pos >= m_text.size()) return "expected " + expected + " but the header ends";
    const unsigned char c = static_cast<unsigned char>(m_text[m_pos]);
    std::string got;
    if (c >= 0x20 && c < 0x7f) {
      got = std::string("'") + static_cast<char>(c) + "'";
    } else {
      static const char hex[] = "0123456789abcdef";
      got = std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
    }
    return "expected " + expected + " at offset " + std::to_string(m_pos) + ", found " + got;
  }
  std::string string_literal(const std::string& what) {
    const char quote = peek();
    if (quote != '\'' && quote != '"') bad_header(where(what + " in quotes"));
    ++m_pos;
    std::string s;
    for (;;) {
      if (m_pos >= m_text.size()) bad_header("a string does not end");
      const char c = m_text[m_pos++];
      if (c == quote) return s;
      if (c == '\\') bad_header("escape sequences in header strings are not supported");
      // The keys and values of a k-space header are ASCII; nothing else is echoed back.
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x7f)
        bad_header("a control character or a non-ASCII byte inside a string");
      s += c;
    }
  }
  bool boolean() {
    if (m_text.substr(m_pos, 4) == "True") {
      m_pos += 4;
      return true;
    }
    if (m_text.substr(m_pos, 5) == "False") {
      m_pos += 5;
      return false;
    }
    bad_header(where("True or False for 'fortran_order'"));
  }
  std::uint64_t integer() {
    if (peek() == '-') bad_header("a negative dimension in 'shape'");
    if (peek() < '0' || peek() > '9') bad_header(where("a dimension in 'shape'"));
    const std::size_t start = m_pos;
    std::uint64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      const auto digit = static_cast<std::uint64_t>(m_text[m_pos++] - '0');
      if (v > (UINT64_MAX - digit) / 10) bad_header("a dimension in 'shape' is too large");
      v = v * 10 + digit;
    }
    if (m_text[start] == '0' && m_pos - start > 1)
      bad_header("a dimension with a leading zero in 'shape'");
    return v;
  }
  std::vector<std::uint64_t> tuple() {
    expect('(', "a tuple for 'shape'");
    std::vector<std::uint64_t> dims;
    skip_space();
    bool comma_after_last = false;
    while (!eat(')')) {
      if (dims.size() >= 64) bad_header("'shape' has more than 64 dimensions");
      dims.push_back(integer());
      skip_space();
      comma_after_last = eat(',');
      skip_space();
      if (!comma_after_last && peek() != ')') bad_header(where("',' or ')' in 'shape'"));
    }
    // Python reads "(5)" as the integer 5, not as a tuple.
    if (dims.size() == 1 && !comma_after_last) bad_header("'shape' is not a tuple");
    return dims;
  }

  std::string_view m_text;
  std::size_t m_pos = 0;
};

std::uint64_t little_endian(const unsigned char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = n; i-- > 0;) v = (v << 8) | p[i];
  return v;
}

template <class Float, class Bits>
Float load(const unsigned char* p, bool big_endian) {
  Bits b;
  std::memcpy(&b, p, sizeof b);
  if (big_endian != (std::endian::native == std::endian::big)) {
    Bits r = 0;
    for (std::size_t i = 0; i < sizeof b; ++i)
      r = static_cast<Bits>((r << 8) | ((b >> (8 * i)) & 0xff));
    b = r;
  }
  return std::bit_cast<Float>(b);
}

}  // namespace

NpyLayout parse_npy_header(std::string_view dict) { return DictParser(dict).parse(); }

NpyReader::NpyReader(std::string path) : m_path(std::move(path)) {
  m_fd = ::open(m_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (m_fd < 0)
    fail(errno == ENOENT || errno == ENOTDIR ? Exit::usage : Exit::other, std::strerror(errno));
  struct stat st {};
  if (::fstat(m_fd, &st) != 0) fail(Exit::other, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(Exit::usage, "not a regular file");
  const auto file_size = static_cast<std::uint64_t>(st.st_size);

  unsigned char pre[12];
  auto read_exact = [&](unsigned char* p, std::size_t n, const char* what) {
    std::size_t got = 0;
    while (got < n) {
      ssize_t r = ::read(m_fd, p + got, n - got);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) fail(Exit::other, std::strerror(errno));
      if (r == 0) fail(Exit::invalid_input, std::string("truncated: the file ends inside ") + what);
      got += static_cast<std::size_t>(r);
    }
  };
  if (file_size < 8 ||
      (read_exact(pre, 8, "the preamble"), std::memcmp(pre, k_magic, k_magic_size) != 0))
    fail(Exit::invalid_input, "not a .npy file (it does not start with \\x93NUMPY)");
  const int major = pre[6], minor = pre[7];
  if (!((major == 1 || major == 2 || major == 3) && minor == 0)) {
    fail(Exit::invalid_input, "unsupported .npy format version " + std::to_string(major) + "." +
                                  std::to_string(minor) + " (1.0, 2.0 and 3.0 are read)");
  }
  const std::size_t len_size = major == 1 ? 2 : 4;
  read_exact(pre + 8, len_size, "the header length");
  const std::uint64_t header_len = little_endian(pre + 8, len_size);
  const std::uint64_t data_offset = 8 + len_size + header_len;
  if (header_len > k_max_header)
    fail(Exit::invalid_input, "bad .npy header: " + std::to_string(header_len) + " bytes long");
  if (data_offset > file_size) {
    fail(Exit::invalid_input, "truncated: the header says it is " + std::to_string(header_len) +
                                  " bytes long, the file ends before");
  }
  std::string header(static_cast<std::size_t>(header_len), '\0');
  read_exact(reinterpret_cast<unsigned char*>(header.data()), header.size(), "the header");
  try {
    m_layout = parse_npy_header(header);
  } catch (const Failure& e) {
    fail(e.exit(), e.what());
  }
  const std::uint64_t need = std::uint64_t{m_layout.rows} * m_layout.cols * m_layout.item_size;
  const std::uint64_t have = file_size - data_offset;
  if (have != need) {
    const std::string shape =
        "(" + std::to_string(m_layout.rows) + ", " + std::to_string(m_layout.cols) + ")";
    const std::string says =
        "the header's shape " + shape + " of complex" + std::to_string(m_layout.item_size * 8) +
        " needs " + std::to_string(need) + " bytes of data, the file holds " + std::to_string(have);
    fail(Exit::invalid_input,
         (have < need ? "truncated: " : "the header does not describe the file: ") + says);
  }
}

NpyReader::~NpyReader() {
  if (m_fd >= 0) ::close(m_fd);
}

void NpyReader::fail(Exit exit, const std::string& why) const {
  throw Failure(exit, "reading " + m_path + ": " + why);
}

void NpyReader::read(std::span<std::complex<double>> out, std::size_t row_roll,
                     std::size_t col_roll) {
  const std::size_t rows = m_layout.rows, cols = m_layout.cols, item = m_layout.item_size;
  if (out.size() != rows * cols) throw std::logic_error("NpyReader::read: wrong output size");
  // Walk the file in its own order; (a, b) index the fast and the slow axis of the file.
  const bool f = m_layout.fortran_order;
  const std::size_t fast_n = f ? rows : cols, slow_n = f ? cols : rows;
  const std::size_t fast_stride = f ? cols : 1, slow_stride = f ? 1 : cols;
  std::size_t fast = (f ? row_roll : col_roll) % fast_n, slow = (f ? col_roll : row_roll) % slow_n;
  std::size_t fast_count = 0;

  std::vector<unsigned char> buf(std::size_t{1} << 20);
  std::size_t left = rows * cols;
  while (left > 0) {
    const std::size_t want = std::min(left, buf.size() / item) * item;
    std::size_t got = 0;
    while (got < want) {
      ssize_t r = ::read(m_fd, buf.data() + got, want - got);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) fail(Exit::other, std::strerror(errno));
      if (r == 0) fail(Exit::invalid_input, "truncated: the file ends inside the data");
      got += static_cast<std::size_t>(r);
    }
    for (std::size_t off = 0; off < want; off += item) {
      const unsigned char* p = buf.data() + off;
      double re, im;
      if (item == 8) {
        re = load<float, std::uint32_t>(p, m_layout.big_endian);
        im = load<float, std::uint32_t>(p + 4, m_layout.big_endian);
      } else {
        re = load<double, std::uint64_t>(p, m_layout.big_endian);
        im = load<double, std::uint64_t>(p + 8, m_layout.big_endian);
      }
      if (!std::isfinite(re) || !std::isfinite(im))
        fail(Exit::invalid_input, "the k-space holds a NaN or an infinity");
      out[fast * fast_stride + slow * slow_stride] = {re, im};
      if (++fast == fast_n) fast = 0;
      if (++fast_count == fast_n) {
        fast_count = 0;
        if (++slow == slow_n) slow = 0;
      }
    }
    left -= want / item;
  }
}

void write_npy_complex64(const std::string& path, std::size_t rows, std::size_t cols,
                         std::span<const std::complex<float>> data) {
  if (data.size() != rows * cols) throw std::logic_error("write_npy_complex64: wrong data size");
  // NumPy's own header for this array, byte for byte: keys sorted, a trailing ", ", spaces up
  // to a multiple of 64 bytes with the newline.
  std::string header = "{'descr': '<c8', 'fortran_order': False, 'shape': (" +
                       std::to_string(rows) + ", " + std::to_string(cols) + "), }";
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string pre = std::string(k_magic, k_magic_size) + '\x01' + '\x00';
  pre += static_cast<char>(header.size() & 0xff);
  pre += static_cast<char>(header.size() >> 8);

  std::vector<unsigned char> bytes(pre.size() + header.size() + data.size() * 8);
  std::memcpy(bytes.data(), pre.data(), pre.size());
  std::memcpy(bytes.data() + pre.size(), header.data(), header.size());
  unsigned char* p = bytes.data() + pre.size() + header.size();
  auto put = [&p](float v) {
    const auto b = std::bit_cast<std::uint32_t>(v);
    for (int i = 0; i < 4; ++i) *p++ = static_cast<unsigned char>(b >> (8 * i));
  };
  for (const auto& c : data) {
    put(c.real());
    put(c.imag());
  }
  AtomicFile out(path);
  out.write(std::as_bytes(std::span(bytes)));
  out.commit();
}

}  // namespace cartesian
