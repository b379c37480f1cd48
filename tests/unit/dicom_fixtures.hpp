#pragma once
// Helpers for the DICOM tests: the pydicom sample files, reading files, decoding PNG just
// far enough to inspect pixels, and DCMTK's storescp as a real peer on loopback.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace wfctl::test {

inline std::string pydicom_file(const std::string& name) {
  return std::string(WFCTL_PYDICOM_TEST_FILES) + "/" + name;
}

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

/// The permission bits of the file at `path`.
inline mode_t mode_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error("cannot stat " + path.string());
  return st.st_mode & 07777;
}

/// Sets the process's umask for one scope.
class Umask {
 public:
  explicit Umask(mode_t mask) : m_previous(::umask(mask)) {}
  ~Umask() { ::umask(m_previous); }
  Umask(const Umask&) = delete;
  Umask& operator=(const Umask&) = delete;

 private:
  mode_t m_previous;
};

/// Every regular file below `dir`, recursively, sorted.
inline std::vector<std::filesystem::path> files_below(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// A decoded 8-bit PNG (grey, grey+alpha, RGB or RGBA, not interlaced).
struct Png {
  std::uint32_t width = 0, height = 0;
  int bit_depth = 0, colour_type = 0, channels = 0;
  std::vector<std::uint8_t> pixels;  // rows without filter bytes
  bool constant() const {
    for (std::uint8_t p : pixels) {
      if (p != pixels.front()) return false;
    }
    return true;
  }
};

inline std::uint32_t be32(const std::string& s, std::size_t at) {
  return (std::uint32_t(std::uint8_t(s[at])) << 24) |
         (std::uint32_t(std::uint8_t(s[at + 1])) << 16) |
         (std::uint32_t(std::uint8_t(s[at + 2])) << 8) | std::uint32_t(std::uint8_t(s[at + 3]));
}

/// Parses and decodes PNG bytes; throws std::runtime_error when they are not a PNG we can read.
inline Png decode_png(const std::string& bytes) {
  if (bytes.size() < 8 || bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) {
    throw std::runtime_error("no PNG signature");
  }
  Png png;
  std::string idat;
  std::size_t at = 8;
  bool seen_iend = false;
  while (at + 12 <= bytes.size()) {
    const std::uint32_t length = be32(bytes, at);
    const std::string type = bytes.substr(at + 4, 4);
    const std::string data = bytes.substr(at + 8, length);
    if (type == "IHDR") {
      if (at != 8) throw std::runtime_error("IHDR is not the first chunk");
      png.width = be32(data, 0);
      png.height = be32(data, 4);
      png.bit_depth = std::uint8_t(data[8]);
      png.colour_type = std::uint8_t(data[9]);
      if (data[12] != 0) throw std::runtime_error("interlaced PNG");
    } else if (type == "IDAT") {
      idat += data;
    } else if (type == "IEND") {
      seen_iend = true;
      break;
    }
    at += 12 + length;
  }
  if (!seen_iend) throw std::runtime_error("no IEND chunk");
  if (png.bit_depth != 8) throw std::runtime_error("not 8 bits per sample");
  const int channels[] = {1, 0, 3, 0, 2, 0, 4};
  if (png.colour_type > 6 || channels[png.colour_type] == 0)
    throw std::runtime_error("colour type");
  png.channels = channels[png.colour_type];
  const std::size_t stride = std::size_t(png.width) * std::size_t(png.channels);
  std::vector<std::uint8_t> raw((stride + 1) * png.height);
  uLongf raw_size = static_cast<uLongf>(raw.size());
  if (uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()),
                 static_cast<uLong>(idat.size())) != Z_OK ||
      raw_size != raw.size()) {
    throw std::runtime_error("IDAT does not inflate to the image size");
  }
  png.pixels.resize(stride * png.height);
  const std::size_t bpp = std::size_t(png.channels);
  for (std::size_t y = 0; y < png.height; ++y) {
    const std::uint8_t filter = raw[y * (stride + 1)];
    const std::uint8_t* in = &raw[y * (stride + 1) + 1];
    std::uint8_t* out = &png.pixels[y * stride];
    const std::uint8_t* up = y > 0 ? &png.pixels[(y - 1) * stride] : nullptr;
    for (std::size_t x = 0; x < stride; ++x) {
      const int a = x >= bpp ? out[x - bpp] : 0;
      const int b = up ? up[x] : 0;
      const int c = (up && x >= bpp) ? up[x - bpp] : 0;
      int predictor = 0;
      switch (filter) {
        case 0:
          predictor = 0;
          break;
        case 1:
          predictor = a;
          break;
        case 2:
          predictor = b;
          break;
        case 3:
          predictor = (a + b) / 2;
          break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          predictor = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
          break;
        }
        default:
          throw std::runtime_error("bad PNG filter type");
      }
      out[x] = std::uint8_t((in[x] + predictor) & 0xFF);
    }
  }
  return png;
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

inline bool accepts_connections(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

/// DCMTK's storescp as a child process on a free port, killed at scope exit. storescp
/// has no option to choose its listening address; the tests only ever connect to 127.0.0.1.
class StoreScp {
 public:
  StoreScp(const std::filesystem::path& out_dir, const std::string& aet,
           std::vector<std::string> extra_args = {})
      : m_port(free_port()), m_aet(aet) {
    std::vector<std::string> args = {"storescp", "-aet", aet, "-od", out_dir.string(),
                                     "-dhl",     "-ta",  "5", "-td", "5"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    args.push_back(std::to_string(m_port));
    const std::string log =
        (out_dir.parent_path() / ("storescp-" + std::to_string(m_port) + ".log")).string();
    m_pid = ::fork();
    if (m_pid < 0) throw std::runtime_error("fork failed");
    if (m_pid == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      if (FILE* f = std::freopen(log.c_str(), "w", stdout)) (void)f;
      ::dup2(STDOUT_FILENO, STDERR_FILENO);
      ::execvp("storescp", argv.data());
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!accepts_connections(m_port)) {
      int status = 0;
      if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
        m_pid = -1;
        throw std::runtime_error("storescp exited at start; see " + log);
      }
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("storescp did not start");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~StoreScp() {
    if (m_pid > 0) {
      ::kill(m_pid, SIGTERM);
      int status = 0;
      ::waitpid(m_pid, &status, 0);
    }
  }
  StoreScp(const StoreScp&) = delete;
  StoreScp& operator=(const StoreScp&) = delete;
  int port() const { return m_port; }
  const std::string& aet() const { return m_aet; }

 private:
  int m_port;
  std::string m_aet;
  pid_t m_pid = -1;
};

/// A socket listening on 127.0.0.1 that never accepts: connections succeed (the kernel
/// completes the handshake) but no DICOM answer ever comes.
class SilentListener {
 public:
  SilentListener() {
    m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(m_fd, 8) != 0 ||
        ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(m_fd);
      throw std::runtime_error("cannot listen");
    }
    m_port = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(m_fd); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return m_port; }

 private:
  int m_fd = -1;
  int m_port = 0;
};

}  // namespace wfctl::test
