#include "atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "failure.hpp"

namespace cartesian {

namespace {

// What the signal handler removes: one temporary file at a time, written before it is armed.
char g_temp_path[4096];
volatile std::sig_atomic_t g_temp_armed = 0;

void on_signal(int sig) {
  if (g_temp_armed) ::unlink(g_temp_path);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

std::string folder_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

void remove_temporary_file_on_signals() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, on_signal);
}

AtomicFile::AtomicFile(std::string target) : m_target(std::move(target)) {
  if (m_target.empty() || m_target.back() == '/') fail("the output path names a folder");
  const std::string folder = folder_of(m_target);
  m_temp = folder + "/." + base_of(m_target) + ".tmp-XXXXXX";
  if (m_temp.size() >= sizeof g_temp_path) fail("the output path is too long");
  std::memcpy(g_temp_path, m_temp.c_str(), m_temp.size() + 1);
  m_fd = ::mkostemp(g_temp_path, O_CLOEXEC);
  if (m_fd < 0) fail("cannot create a file in " + folder + ": " + std::strerror(errno));
  m_temp = g_temp_path;
  g_temp_armed = 1;
  // mkostemp gives 0600; the result gets the mode any new file gets (0666 less the umask).
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(m_fd, 0666 & ~mask);
}

AtomicFile::~AtomicFile() {
  if (m_fd >= 0) ::close(m_fd);
  if (!m_committed) {
    g_temp_armed = 0;
    ::unlink(m_temp.c_str());
  }
}

void AtomicFile::fail(const std::string& why) const {
  throw Failure(Exit::other, "writing " + m_target + ": " + why);
}

void AtomicFile::write(std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(m_fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(std::strerror(n < 0 ? errno : EIO));
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
}

void AtomicFile::commit() {
  if (::fsync(m_fd) != 0) fail(std::strerror(errno));
  if (::close(m_fd) != 0) {
    m_fd = -1;
    fail(std::strerror(errno));
  }
  m_fd = -1;
  if (::rename(m_temp.c_str(), m_target.c_str()) != 0) fail(std::strerror(errno));
  m_committed = true;
  g_temp_armed = 0;
  // The rename itself is durable once the folder is flushed.
  int dir = ::open(folder_of(m_target).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace cartesian
