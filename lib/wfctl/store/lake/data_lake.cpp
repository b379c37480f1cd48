#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <fstream>
#include <limits>
#include <mutex>
#include <thread>
#include <wfctl/error.hpp>
#include <wfctl/store/lake/data_lake.hpp>
#include <wfctl/util/copy.hpp>
#include <wfctl/util/utf8.hpp>

namespace wfctl::lake {

namespace fs = std::filesystem;

namespace {

// A dead pid alone is not proof: a process in another pid namespace or on another host
// sharing the lake may be mid-upload, and an upload in progress keeps its mtime fresh.
constexpr std::int64_t k_stale_after_s = 10 * 60;
constexpr std::size_t k_max_name_bytes = 255;
constexpr std::size_t k_max_shown_bytes = 64;
constexpr const char* k_temp_prefix = "upload-";
constexpr const char* k_delete_prefix = "delete-";
constexpr const char* k_replaced_prefix = "replaced-";
constexpr const char* k_name_hint =
    "a file name must be one path component: no '/', '\\' or control characters, "
    "valid UTF-8, at most 255 bytes";

// Why `name` is not a safe file name, or nullopt when it is.
std::optional<std::string> unsafe_reason(std::string_view name) {
  if (name.empty()) return "it is empty";
  if (name == "." || name == "..") return "it names a directory, not a file";
  if (name.size() > k_max_name_bytes) {
    return fmt::format("it is {} bytes long (at most {})", name.size(), k_max_name_bytes);
  }
  for (std::size_t i = 0; i < name.size();) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c == '/') return std::string("it contains '/'");
    if (c == '\\') return std::string("it contains '\\'");
    if (c < 0x20 || c == 0x7f) return fmt::format("it contains the control character \\x{:02x}", c);
    char32_t cp = 0;
    const std::size_t len = utf8_sequence(name, i, cp);
    if (len == 0) return "it is not valid UTF-8";
    if (is_c1_control(cp)) {
      return fmt::format("it contains the control character U+{:04X}", static_cast<unsigned>(cp));
    }
    i += len;
  }
  // Invisible in listings and easily lost by shells and forms.
  if (name.front() == ' ' || name.back() == ' ') return "it begins or ends with a space";
  return std::nullopt;
}

std::string record_folder(RecordId record) { return std::to_string(record); }

// The record id a folder name stands for, when it is the canonical decimal form of one.
std::optional<RecordId> parse_record_folder(std::string_view s) {
  if (s.empty() || s.front() == '0') return std::nullopt;
  RecordId id = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc() || end != s.data() + s.size() || id <= 0) return std::nullopt;
  return id;
}

LakeFile to_lake_file(RecordId record, std::string name, const struct stat& st) {
  LakeFile f;
  f.record = record;
  f.name = std::move(name);
  f.size = static_cast<std::uint64_t>(st.st_size);
  f.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
               static_cast<std::int64_t>(st.st_mtim.tv_nsec);
  f.inode = static_cast<std::uint64_t>(st.st_ino);
  return f;
}

// The permission bits an ordinary open(O_CREAT, 0666) would give: published files must stay
// readable by the reconstruction service as the reference's files are.
mode_t published_mode() {
  static const mode_t mode = [] {
    mode_t mask = 022;
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("Umask:", 0) == 0) {
        mask = static_cast<mode_t>(std::strtoul(line.c_str() + 6, nullptr, 8) & 0777);
        break;
      }
    }
    return static_cast<mode_t>(0666 & ~mask);
  }();
  return mode;
}

struct DirCloser {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};
using DirStream = std::unique_ptr<DIR, DirCloser>;

// A directory stream over a duplicate of `fd` (fdopendir takes ownership of its argument).
DirStream open_dir_stream(int fd, const fs::path& path) {
  UniqueFd dup(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!dup) throw errno_error(errno, fmt::format("cannot read directory {}", path.string()));
  DIR* d = ::fdopendir(dup.get());
  if (!d) throw errno_error(errno, fmt::format("cannot read directory {}", path.string()));
  dup.release();
  return DirStream(d);
}

// The next entry other than "." and "..", or nullptr at the end.
const dirent* next_entry(DIR* d, const fs::path& path) {
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(d);
    if (!e) {
      if (errno != 0)
        throw errno_error(errno, fmt::format("cannot read directory {}", path.string()));
      return nullptr;
    }
    std::string_view n = e->d_name;
    if (n != "." && n != "..") return e;
  }
}

// Opens the directory `name` in `parent` without following a symlink; creates it with
// `mode` when missing and `create`, else returns nullopt when missing.
std::optional<UniqueFd> open_subdir(int parent, const std::string& name, const fs::path& path,
                                    bool create, mode_t mode) {
  for (int attempt = 0;; ++attempt) {
    UniqueFd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd) return fd;
    const int err = errno;
    if (err == ENOENT && attempt < 3) {
      if (!create) return std::nullopt;
      if (::mkdirat(parent, name.c_str(), mode) == 0) {
        fsync_fd(parent, path.parent_path().string());
      } else if (errno != EEXIST) {
        throw errno_error(errno, fmt::format("cannot create directory {}", path.string()));
      }
      continue;
    }
    if (err == ENOTDIR || err == ELOOP) {
      // With O_DIRECTORY, Linux reports a symlink as ENOTDIR: tell the two apart.
      struct stat st {};
      if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        throw Error(ErrorKind::permission,
                    fmt::format("refusing to use {}: it is a symbolic link, and the data lake "
                                "never follows one",
                                path.string()),
                    "replace the link with a real directory");
      }
      throw Error(ErrorKind::internal, fmt::format("{} is not a directory", path.string()));
    }
    throw errno_error(err, fmt::format("cannot open directory {}", path.string()));
  }
}

}  // namespace

std::string escape_name(std::string_view name) {
  std::string out;
  std::size_t i = 0;
  const auto hex = [&](std::size_t from, std::size_t n) {
    for (std::size_t k = from; k < from + n; ++k) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(name[k]));
    }
  };
  while (i < name.size() && out.size() < k_max_shown_bytes) {
    const auto c = static_cast<unsigned char>(name[i]);
    char32_t cp = 0;
    const std::size_t len = utf8_sequence(name, i, cp);
    if (len == 0) {
      hex(i, 1);
      i += 1;
    } else if (c < 0x20 || c == 0x7f || c == '\\' || is_c1_control(cp)) {
      hex(i, len);
      i += len;
    } else {
      out.append(name.substr(i, len));
      i += len;
    }
  }
  if (i < name.size()) out += "...";
  return out;
}

// ---- StagedFile ------------------------------------------------------------------------

StagedFile::StagedFile(StagedFile&& other) noexcept
    : m_dir(std::move(other.m_dir)),
      m_name(std::exchange(other.m_name, {})),
      m_path(std::exchange(other.m_path, {})),
      m_size(other.m_size),
      m_sha256(std::move(other.m_sha256)) {}

StagedFile& StagedFile::operator=(StagedFile&& other) noexcept {
  if (this != &other) {
    discard();
    m_dir = std::move(other.m_dir);
    m_name = std::exchange(other.m_name, {});
    m_path = std::exchange(other.m_path, {});
    m_size = other.m_size;
    m_sha256 = std::move(other.m_sha256);
  }
  return *this;
}

StagedFile::~StagedFile() { discard(); }

void StagedFile::discard() noexcept {
  if (m_dir && !m_name.empty()) ::unlinkat(m_dir.get(), m_name.c_str(), 0);
  m_name.clear();
  m_path.clear();
  m_dir.reset();
}

// ---- DataLake --------------------------------------------------------------------------

DataLake::DataLake(fs::path root) : m_root(std::move(root)) {}

void DataLake::check_name(std::string_view name) {
  if (auto why = unsafe_reason(name)) {
    throw Error(ErrorKind::invalid_input,
                fmt::format("unsafe file name '{}': {}", escape_name(name), *why), k_name_hint);
  }
}

void DataLake::check_record(RecordId record) {
  if (record <= 0) {
    throw Error(ErrorKind::invalid_input,
                fmt::format("invalid record id {}: record ids are positive integers", record));
  }
}

namespace {

// The root directory; created when `create`, else nullopt when missing.
std::optional<UniqueFd> open_root(const fs::path& root, bool create) {
  if (create) {
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec) throw errno_error(ec.value(), fmt::format("cannot create directory {}", root.string()));
  }
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd) return fd;
  if (errno == ENOENT && !create) return std::nullopt;
  throw errno_error(errno, fmt::format("cannot open directory {}", root.string()));
}

// records/{record} under `root`, or nullopt when missing and !create.
std::optional<UniqueFd> open_record_dir(const fs::path& root, RecordId record, bool create) {
  auto root_fd = open_root(root, create);
  if (!root_fd) return std::nullopt;
  auto records = open_subdir(root_fd->get(), "records", root / "records", create, 0777);
  if (!records) return std::nullopt;
  const std::string folder = record_folder(record);
  return open_subdir(records->get(), folder, root / "records" / folder, create, 0777);
}

}  // namespace

namespace {

// Copies the source into the staged file: from mapped windows when the source is a regular
// file, else read by 1 MiB into an Appender, as pushed uploads are (Staging::append).
Copied copy_into(int fd, const std::string& label, const ByteSource& source) {
  if (source.file_fd >= 0)
    return copy_file_hashed(source.file_fd, fd, source.name.empty() ? "the source" : source.name,
                            with_writeback(fd, source.progress), label);
  constexpr std::size_t k_read = std::size_t{1} << 20;
  const auto buf = std::make_unique_for_overwrite<char[]>(k_read);
  Appender out(fd, label);
  while (const std::size_t n = source.read(buf.get(), k_read)) {
    if (n > k_read) throw Error(ErrorKind::internal, "a reader returned more bytes than it was asked for");
    out.append(buf.get(), n);
    if (source.progress) source.progress(out.size());
  }
  return out.finish();
}

}  // namespace

UniqueFd DataLake::open_staging(StagedFile& staged) {
  auto root_fd = open_root(m_root, true);
  auto tmp = open_subdir(root_fd->get(), "tmp", m_root / "tmp", true, 0700);
  std::call_once(m_swept, [&] { remove_stale_temp_files(tmp->get()); });

  UniqueFd fd;
  std::string name;
  for (int attempt = 0; !fd; ++attempt) {
    name = fmt::format("{}{}-{}", k_temp_prefix, ::getpid(), random_hex(8));
    fd.reset(::openat(tmp->get(), name.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd && (errno != EEXIST || attempt > 10)) {
      throw errno_error(errno, fmt::format("cannot create {}", (m_root / "tmp" / name).string()));
    }
  }
  // From here on the destructor of `staged` removes the file whatever goes wrong.
  staged.m_dir = std::move(*tmp);
  staged.m_name = name;
  staged.m_path = m_root / "tmp" / name;
  return fd;
}

void DataLake::finish_staging(int fd, StagedFile& staged, const Copied& copied) {
  const std::string label = staged.m_path.string();
  if (::fchmod(fd, published_mode()) != 0) {
    throw errno_error(errno, fmt::format("cannot set permissions of {}", label));
  }
  fsync_fd(fd, label);
  staged.m_size = copied.size;
  staged.m_sha256 = copied.sha256;
}

StagedFile DataLake::stage(const ByteSource& source) {
  StagedFile staged;
  UniqueFd fd = open_staging(staged);
  const Copied copied = copy_into(fd.get(), staged.m_path.string(), source);
  finish_staging(fd.get(), staged, copied);
  return staged;
}

Staging DataLake::begin_staging() {
  Staging s;
  s.m_lake = this;
  s.m_fd = open_staging(s.m_staged);
  s.m_out.emplace(s.m_fd.get(), s.m_staged.path().string());
  return s;
}

void Staging::append(const char* data, std::size_t n) {
  if (!m_fd) throw Error(ErrorKind::internal, "cannot append to a finished staging file");
  m_out->append(data, n);
}

StagedFile Staging::finish() {
  if (!m_fd) throw Error(ErrorKind::internal, "staging file already finished");
  m_lake->finish_staging(m_fd.get(), m_staged, m_out->finish());
  m_out.reset();
  m_fd.reset();
  return std::move(m_staged);
}

Publication::~Publication() {
  if (m_done) return;
  if (!m_backup.empty()) {
    // The old file takes its name back in one rename: readers never see neither.
    (void)::renameat(m_tmp.get(), m_backup.c_str(), m_record.get(), m_name.c_str());
  } else {
    struct stat st {};
    if (::fstatat(m_record.get(), m_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        static_cast<std::uint64_t>(st.st_ino) == m_file.inode)
      (void)::unlinkat(m_record.get(), m_name.c_str(), 0);
  }
  (void)::fsync(m_record.get());
}

void Publication::commit() noexcept {
  if (!m_backup.empty()) {
    // Held open, the replaced file loses its last name at no cost, and close_unlinked frees
    // its blocks (0.4 s for 2 GiB on ext4) in a detached process instead of here. The space
    // comes back a moment after wfctl exits, and never later than that process: killed, it
    // drops the file as well, so no name is left to sweep.
    UniqueFd replaced(::openat(m_tmp.get(), m_backup.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    (void)::unlinkat(m_tmp.get(), m_backup.c_str(), 0);
    close_unlinked(std::move(replaced));
  }
  m_done = true;
}

Publication DataLake::publish(StagedFile& staged, RecordId record, const std::string& name, bool force) {
  check_record(record);
  check_name(name);
  if (!staged.m_dir || staged.m_name.empty()) {
    throw Error(ErrorKind::internal, "cannot publish a file that is no longer staged");
  }
  const std::string rel = record_path(record, escape_name(name));
  const fs::path target = m_root / record_path(record, name);
  auto dir = open_record_dir(m_root, record, true);

  // The stat of the staged inode describes exactly what we publish, even if another writer
  // replaces the target right after the rename.
  struct stat st {};
  if (::fstatat(staged.m_dir.get(), staged.m_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    throw errno_error(errno, fmt::format("cannot stat {}", staged.m_path.string()));
  }
  const auto conflict = [&] {
    return Error(ErrorKind::conflict, fmt::format("{} already exists", rel), "use --force to replace it");
  };
  const int from = staged.m_dir.get();
  const char* from_name = staged.m_name.c_str();
  const int to = dir->get();
  Publication pub;
  pub.m_name = name;
  if (force) {
    // A second link to the file being replaced keeps it until the publication is committed.
    std::string backup = fmt::format("{}{}-{}", k_replaced_prefix, ::getpid(), random_hex(8));
    if (::linkat(to, name.c_str(), from, backup.c_str(), 0) == 0) pub.m_backup = std::move(backup);
    else if (errno != ENOENT) throw errno_error(errno, fmt::format("cannot keep {} while replacing it", target.string()));
    if (::renameat(from, from_name, to, name.c_str()) != 0) {
      const int err = errno;
      if (!pub.m_backup.empty()) (void)::unlinkat(from, pub.m_backup.c_str(), 0);
      throw errno_error(err, fmt::format("cannot move {} to {}", staged.m_path.string(), target.string()));
    }
  } else if (::renameat2(from, from_name, to, name.c_str(), RENAME_NOREPLACE) != 0) {
    const int err = errno;
    if (err == EEXIST) throw conflict();
    if (err != EINVAL && err != ENOSYS && err != EOPNOTSUPP) {
      throw errno_error(
          err, fmt::format("cannot move {} to {}", staged.m_path.string(), target.string()));
    }
    // File systems without RENAME_NOREPLACE: link() refuses an existing name just as well.
    if (::linkat(from, from_name, to, name.c_str(), 0) != 0) {
      if (errno == EEXIST) throw conflict();
      throw errno_error(
          errno, fmt::format("cannot link {} to {}", staged.m_path.string(), target.string()));
    }
    // A leftover second name would only be swept later as a stale temporary file.
    (void)::unlinkat(from, from_name, 0);
  }
  pub.m_file = to_lake_file(record, name, st);
  pub.m_record = std::move(*dir);
  pub.m_tmp.reset(::fcntl(from, F_DUPFD_CLOEXEC, 0));
  staged.m_name.clear();
  staged.discard();
  fsync_fd(pub.m_record.get(), target.parent_path().string());
  return pub;
}

std::optional<LakeFile> DataLake::stat(RecordId record, const std::string& name) const {
  check_record(record);
  check_name(name);
  auto dir = open_record_dir(m_root, record, false);
  if (!dir) return std::nullopt;
  struct stat st {};
  if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return std::nullopt;
    throw errno_error(errno,
                      fmt::format("cannot stat {}",
                                  (m_root / record_path(record, name)).string()));
  }
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  return to_lake_file(record, name, st);
}

namespace {

void scan_record(int dir, RecordId record, const fs::path& path, std::vector<LakeFile>& out) {
  auto stream = open_dir_stream(dir, path);
  while (const dirent* e = next_entry(stream.get(), path)) {
    const std::string_view name = e->d_name;
    if (unsafe_reason(name)) continue;
    struct stat st {};
    if (::fstatat(dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed while we were listing
      throw errno_error(errno, fmt::format("cannot stat {}", (path / e->d_name).string()));
    }
    if (S_ISREG(st.st_mode)) out.push_back(to_lake_file(record, std::string(name), st));
  }
}

}  // namespace

std::vector<LakeFile> DataLake::scan(std::optional<RecordId> record) const {
  std::vector<LakeFile> out;
  const fs::path records_path = m_root / "records";
  if (record) {
    check_record(*record);
    if (auto dir = open_record_dir(m_root, *record, false)) {
      scan_record(dir->get(), *record, records_path / record_folder(*record), out);
    }
  } else {
    auto root_fd = open_root(m_root, false);
    if (!root_fd) return out;
    auto records = open_subdir(root_fd->get(), "records", records_path, false, 0);
    if (!records) return out;
    auto stream = open_dir_stream(records->get(), records_path);
    while (const dirent* e = next_entry(stream.get(), records_path)) {
      const auto id = parse_record_folder(e->d_name);
      if (!id) continue;
      // O_NOFOLLOW|O_DIRECTORY turns symlinks and plain files into ENOTDIR/ELOOP: skip them.
      UniqueFd dir(
          ::openat(records->get(), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!dir) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue;
        throw errno_error(
            errno, fmt::format("cannot open directory {}", (records_path / e->d_name).string()));
      }
      scan_record(dir.get(), *id, records_path / e->d_name, out);
    }
  }
  std::sort(out.begin(), out.end(), [](const LakeFile& a, const LakeFile& b) {
    return a.record != b.record ? a.record < b.record : a.name < b.name;
  });
  return out;
}

std::optional<std::pair<UniqueFd, LakeFile>> DataLake::open(RecordId record,
                                                            const std::string& name) const {
  check_record(record);
  check_name(name);
  auto dir = open_record_dir(m_root, record, false);
  if (!dir) return std::nullopt;
  const fs::path path = m_root / record_path(record, name);
  // O_NONBLOCK so that a FIFO planted in the lake cannot hang us before the type check.
  UniqueFd fd(::openat(dir->get(), name.c_str(),
                       O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT || errno == ELOOP) return std::nullopt;
    throw errno_error(errno, fmt::format("cannot open {}", path.string()));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw errno_error(errno, fmt::format("cannot stat {}", path.string()));
  }
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    throw errno_error(errno, fmt::format("cannot open {}", path.string()));
  }
  (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  LakeFile file = to_lake_file(record, name, st);
  return std::make_pair(std::move(fd), std::move(file));
}

Removal::~Removal() {
  if (!m_done) restore();
}

void Removal::restore() noexcept {
  for (auto it = m_names.rbegin(); it != m_names.rend(); ++it) {
    // A file written under that name meanwhile (by a reconstruction service) is not clobbered.
    (void)::renameat2(m_trash.get(), it->c_str(), m_record.get(), it->c_str(), RENAME_NOREPLACE);
  }
  (void)::unlinkat(m_tmp.get(), m_trash_name.c_str(), AT_REMOVEDIR);
  m_names.clear();
  m_done = true;
}

void Removal::commit() noexcept {
  for (const auto& n : m_names) (void)::unlinkat(m_trash.get(), n.c_str(), 0);
  (void)::unlinkat(m_tmp.get(), m_trash_name.c_str(), AT_REMOVEDIR);
  (void)::fsync(m_record.get());
  if (::unlinkat(m_records.get(), m_folder.c_str(), AT_REMOVEDIR) == 0) (void)::fsync(m_records.get());
  m_done = true;
}

Removal DataLake::remove_files(RecordId record, const std::vector<std::string>& names) {
  check_record(record);
  for (const auto& n : names) check_name(n);
  const auto absent = [&](const std::string& name) {
    return Error(ErrorKind::not_found, record_path(record, escape_name(name)) + " not found");
  };
  auto root_fd = open_root(m_root, false);
  if (!root_fd || names.empty()) {
    if (names.empty()) throw Error(ErrorKind::internal, "remove_files needs at least one name");
    throw absent(names.front());
  }
  auto records = open_subdir(root_fd->get(), "records", m_root / "records", false, 0);
  if (!records) throw absent(names.front());
  const std::string folder = record_folder(record);
  auto dir = open_subdir(records->get(), folder, m_root / "records" / folder, false, 0);
  if (!dir) throw absent(names.front());
  for (const auto& n : names) {
    struct stat st {};
    if (::fstatat(dir->get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) throw absent(n);
  }
  auto tmp = open_subdir(root_fd->get(), "tmp", m_root / "tmp", true, 0700);
  std::call_once(m_swept, [&] { remove_stale_temp_files(tmp->get()); });
  Removal removal;
  removal.m_folder = folder;
  removal.m_tmp = std::move(*tmp);
  for (int attempt = 0;; ++attempt) {
    removal.m_trash_name = fmt::format("{}{}-{}", k_delete_prefix, ::getpid(), random_hex(8));
    if (::mkdirat(removal.m_tmp.get(), removal.m_trash_name.c_str(), 0700) == 0) break;
    if (errno != EEXIST || attempt > 10)
      throw errno_error(errno, fmt::format("cannot create {}", (m_root / "tmp" / removal.m_trash_name).string()));
  }
  removal.m_trash.reset(
      ::openat(removal.m_tmp.get(), removal.m_trash_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!removal.m_trash) {
    const int err = errno;
    (void)::unlinkat(removal.m_tmp.get(), removal.m_trash_name.c_str(), AT_REMOVEDIR);
    throw errno_error(err, fmt::format("cannot open {}", (m_root / "tmp" / removal.m_trash_name).string()));
  }
  removal.m_records = std::move(*records);
  removal.m_record = std::move(*dir);
  for (const auto& n : names) {
    if (::renameat(removal.m_record.get(), n.c_str(), removal.m_trash.get(), n.c_str()) != 0) {
      if (errno == ENOENT) throw absent(n);  // removed meanwhile; the destructor puts the others back
      throw errno_error(errno, fmt::format("cannot remove {}", (m_root / "records" / folder / n).string()));
    }
    removal.m_names.push_back(n);
  }
  fsync_fd(removal.m_record.get(), (m_root / "records" / folder).string());
  return removal;
}

namespace {

// The pid in "<prefix><pid>-<random>", or 0 when `name` is not such a name.
pid_t owner_pid(std::string_view name, std::string_view prefix) {
  if (name.substr(0, prefix.size()) != prefix) return 0;
  name.remove_prefix(prefix.size());
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
  if (ec != std::errc() || end == name.data() + name.size() || *end != '-' || pid <= 0) return 0;
  return pid;
}

// Removes the regular files of tmp/<name>, then the folder (left by a delete that was killed).
void remove_trash_dir(int tmp_dir, const char* name, const fs::path& path) {
  UniqueFd dir(::openat(tmp_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) return;
  auto stream = open_dir_stream(dir.get(), path);
  while (const dirent* e = next_entry(stream.get(), path)) (void)::unlinkat(dir.get(), e->d_name, 0);
  (void)::unlinkat(tmp_dir, name, AT_REMOVEDIR);
}

}  // namespace

void DataLake::remove_stale_temp_files(int tmp_dir) noexcept {
  try {
    const fs::path tmp_path = m_root / "tmp";
    auto stream = open_dir_stream(tmp_dir, tmp_path);
    const std::time_t now = std::time(nullptr);
    while (const dirent* e = next_entry(stream.get(), tmp_path)) {
      pid_t upload = owner_pid(e->d_name, k_temp_prefix);
      if (!upload) upload = owner_pid(e->d_name, k_replaced_prefix);
      const pid_t removal = owner_pid(e->d_name, k_delete_prefix);
      const pid_t pid = upload ? upload : removal;
      if (pid == 0 || pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
      struct stat st {};
      if (::fstatat(tmp_dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (now - st.st_mtime < k_stale_after_s) continue;
      if (upload && S_ISREG(st.st_mode)) ::unlinkat(tmp_dir, e->d_name, 0);
      if (removal && S_ISDIR(st.st_mode)) remove_trash_dir(tmp_dir, e->d_name, tmp_path / e->d_name);
    }
  } catch (...) {
    // Sweeping is housekeeping: an unreadable tmp/ must not fail the upload itself.
  }
}

}  // namespace wfctl::lake
