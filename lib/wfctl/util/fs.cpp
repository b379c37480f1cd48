#include <fcntl.h>
#include <fmt/format.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/interrupt.hpp>

namespace wfctl {

namespace fs = std::filesystem;

void UniqueFd::reset(int fd) noexcept {
  if (m_fd >= 0) ::close(m_fd);
  m_fd = fd;
}

namespace {

std::string label(int fd, std::string_view what) {
  return what.empty() ? fmt::format("fd {}", fd) : std::string(what);
}

// Freeing blocks costs about 0.2 ms per MiB on ext4, a double fork about 1 ms.
constexpr std::uint64_t k_free_in_background_from = std::uint64_t{64} << 20;

// Closes every descriptor but `a` and `b` (async-signal-safe).
void close_all_but(int a, int b) noexcept {
  if (a > b) std::swap(a, b);
  if (a > 0) (void)::close_range(0, static_cast<unsigned>(a) - 1, 0);
  if (b > a + 1) (void)::close_range(static_cast<unsigned>(a) + 1, static_cast<unsigned>(b) - 1, 0);
  (void)::close_range(static_cast<unsigned>(b) + 1, ~0U, 0);
}

}  // namespace

void close_unlinked(UniqueFd file) noexcept {
  struct stat st {};
  if (!file || ::fstat(file.get(), &st) != 0 || st.st_nlink != 0 ||
      static_cast<std::uint64_t>(st.st_blocks) * 512 < k_free_in_background_from)
    return;
  // The grandchild waits for end of file on this pipe, i.e. until this process has closed
  // its copy of `file`: only then is the grandchild's close the last one.
  int gate[2];
  if (::pipe2(gate, O_CLOEXEC) != 0) return;
  const pid_t child = ::fork();
  if (child == 0) {
    // Only async-signal-safe calls here: another thread may have held a lock at the fork.
    ::setsid();  // out of the terminal's process group: a Ctrl-C there is not for it
    if (::fork() != 0) ::_exit(0);
    // Nothing else of the parent's stays open: no pipe of a caller that waits for end of file.
    close_all_but(file.get(), gate[0]);
    char c;
    while (::read(gate[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::close(file.get());
    ::_exit(0);
  }
  file.reset();
  ::close(gate[1]);
  ::close(gate[0]);
  if (child > 0) {
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

UniqueFd open_for_reading(const std::string& path, std::string_view what) {
  const std::string message = "cannot read " + std::string(what.empty() ? path : what);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) throw errno_error(errno, message);
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) throw errno_error(EISDIR, message);
  return fd;
}

std::string random_hex(std::size_t bytes) {
  unsigned char buf[16];
  if (bytes > sizeof buf) bytes = sizeof buf;
  std::size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(buf + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw errno_error(errno, "cannot get random bytes for a temporary file name");
    }
    got += static_cast<std::size_t>(n);
  }
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) out += fmt::format("{:02x}", buf[i]);
  return out;
}

void fsync_fd(int fd, std::string_view what) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) throw errno_error(errno, fmt::format("cannot fsync {}", label(fd, what)));
  }
}

void fsync_dir(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw errno_error(errno, fmt::format("cannot open directory {}", dir.string()));
  fsync_fd(fd.get(), dir.string());
}

void write_all(int fd, const void* data, std::size_t n, std::string_view what) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) {
        throw_if_interrupted();  // Ctrl-C while blocked on a full pipe
        continue;
      }
      throw errno_error(errno, fmt::format("cannot write {}", label(fd, what)));
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

std::size_t read_some(int fd, void* buf, std::size_t cap, std::string_view what) {
  for (;;) {
    ssize_t r = ::read(fd, buf, cap);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno == EINTR) throw_if_interrupted();  // Ctrl-C while waiting for input
    else throw errno_error(errno, fmt::format("cannot read {}", label(fd, what)));
  }
}

ReadFn fd_reader(int fd, std::string what) {
  // Doubles the kernel's read-ahead for files; fails harmlessly (ESPIPE) on pipes.
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return [fd, what = std::move(what)](char* buf, std::size_t cap) {
    return read_some(fd, buf, cap, what);
  };
}

WriteFn fd_writer(int fd, std::string what) {
  return [fd, what = std::move(what)](const char* data, std::size_t n) {
    write_all(fd, data, n, what);
  };
}

fs::path hidden_temp_path(const fs::path& target) {
  return target.parent_path() / fmt::format(".{}.tmp-{}-{}", target.filename().string(), ::getpid(), random_hex(6));
}

namespace {

// Gives the unnamed file open at `fd` the name `name`: /proc/self/fd works without privileges
// (AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH). Returns 0, or the errno; link() refuses a name
// that is taken, even one that appeared a moment ago.
int name_unnamed(int fd, const fs::path& name) {
  const std::string proc = fmt::format("/proc/self/fd/{}", fd);
  return ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
}

}  // namespace

AtomicFile::AtomicFile(fs::path target, fs::perms perms) : m_target(std::move(target)) {
  fs::path dir = m_target.parent_path();
  const auto mode = static_cast<mode_t>(perms & fs::perms::mask);
  m_fd.reset(::open(dir.empty() ? "." : dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode));
  if (m_fd) return;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
    throw errno_error(errno, fmt::format("cannot write {}", m_target.string()));
  for (int attempt = 0; !m_fd; ++attempt) {
    m_temp = hidden_temp_path(m_target);
    m_fd.reset(::open(m_temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!m_fd && (errno != EEXIST || attempt > 10))
      throw errno_error(errno, fmt::format("cannot write {}", m_target.string()));
  }
}

AtomicFile::~AtomicFile() {
  if (!m_committed && !m_temp.empty()) ::unlink(m_temp.c_str());
}

void AtomicFile::sync() {
  if (m_synced) return;
  fsync_fd(m_fd.get(), m_target.string());
  m_synced = true;
}

void AtomicFile::park() {
  sync();
  if (m_temp.empty()) {
    fs::path name = hidden_temp_path(m_target);
    if (int err = name_unnamed(m_fd.get(), name))
      throw errno_error(err, fmt::format("cannot write {}", m_target.string()));
    m_temp = std::move(name);
  }
  m_fd.reset();
}

void AtomicFile::commit(bool replace) {
  sync();
  const auto fail = [&](int err) {
    if (err == EEXIST)
      throw Error(ErrorKind::conflict, m_target.string() + " already exists", "use --force to overwrite it");
    throw errno_error(err, fmt::format("cannot write {}", m_target.string()));
  };
  if (m_temp.empty()) {
    // Without --force the unnamed file's name is the target itself, refused when taken; with
    // --force a hidden name, then renamed over the target.
    fs::path name = replace ? hidden_temp_path(m_target) : m_target;
    if (int err = name_unnamed(m_fd.get(), name)) fail(err);
    if (replace) {
      m_temp = name;
      replace_target();
    }
    m_committed = true;
  } else if (replace) {
    replace_target();
    m_committed = true;
  } else {
    // link() refuses an existing name, even one that appeared a moment ago.
    if (::link(m_temp.c_str(), m_target.c_str()) != 0) fail(errno);
  }
  m_fd.reset();
  fsync_dir(m_target.has_parent_path() ? m_target.parent_path() : fs::path("."));
}

void AtomicFile::replace_target() {
  // The file replaced is held open across the rename, so that the rename does not free its
  // blocks: close_unlinked does, off this process's time when it is large.
  UniqueFd replaced(::open(m_target.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (::rename(m_temp.c_str(), m_target.c_str()) != 0) {
    throw errno_error(errno, fmt::format("cannot write {}", m_target.string()));
  }
  close_unlinked(std::move(replaced));
}

OutputPath resolve_output(const fs::path& path) {
  fs::path p = path;
  for (int hops = 0;; ++hops) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) {
      if (errno == ENOENT) return {p, OutputPath::Kind::missing};
      throw errno_error(errno, fmt::format("cannot write {}", path.string()));
    }
    if (S_ISLNK(st.st_mode)) {
      if (hops >= 40) throw errno_error(ELOOP, fmt::format("cannot write {}", path.string()));
      std::error_code ec;
      fs::path next = fs::read_symlink(p, ec);
      if (ec) throw errno_error(ec.value(), fmt::format("cannot write {}", path.string()));
      p = next.is_absolute() ? next : p.parent_path() / next;
      continue;
    }
    if (S_ISREG(st.st_mode)) return {p, OutputPath::Kind::regular};
    if (S_ISDIR(st.st_mode)) return {p, OutputPath::Kind::directory};
    return {p, OutputPath::Kind::special};
  }
}

void write_output(const fs::path& path, std::string_view bytes, fs::perms perms) {
  const OutputPath out = resolve_output(path);
  if (out.kind == OutputPath::Kind::directory) throw errno_error(EISDIR, fmt::format("cannot write {}", path.string()));
  if (out.kind == OutputPath::Kind::special) {
    UniqueFd fd(::open(out.path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC));
    if (!fd) throw errno_error(errno, fmt::format("cannot write {}", path.string()));
    write_all(fd.get(), bytes.data(), bytes.size(), path.string());
    return;
  }
  AtomicFile file(out.path, perms);
  write_all(file.fd(), bytes.data(), bytes.size(), path.string());
  file.commit(true);
}

void write_file_atomic(const fs::path& path, std::string_view content, fs::perms perms) {
  fs::path target = path;
  std::error_code ec;
  if (fs::is_symlink(path, ec)) {
    // Replacing the link itself would silently detach a dotfile kept elsewhere.
    target = fs::weakly_canonical(path, ec);
    if (ec) throw errno_error(ec.value(), fmt::format("cannot resolve {}", path.string()));
  }
  fs::path dir = target.parent_path();
  if (!dir.empty()) {
    fs::create_directories(dir, ec);
    if (ec) throw errno_error(ec.value(), fmt::format("cannot create directory {}", dir.string()));
  }
  AtomicFile file(target, perms);
  write_all(file.fd(), content.data(), content.size(), file.what());
  file.commit(true);
}

}  // namespace wfctl
