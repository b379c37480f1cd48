#include <wfctl/ops/results.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <wfctl/error.hpp>
#include <wfctl/util/copy.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/signals.hpp>
#include <wfctl/ops/workflows.hpp>

namespace wfctl {

namespace fs = std::filesystem;

namespace {

bool ends_with_dcm(const std::string& name) {
  if (name.size() < 4) return false;
  std::string ext = name.substr(name.size() - 4);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".dcm";
}

// Between chunks: stop on Ctrl-C, and report progress.
std::function<void(std::uint64_t)> between_chunks(ProgressFn progress, std::uint64_t total) {
  return [progress = std::move(progress), total](std::uint64_t done) {
    throw_if_interrupted();
    if (progress) progress(done, total);
  };
}

}  // namespace

ResultFile upload_result(Store& store, const UploadRequest& r) {
  std::string name;
  if (r.name) name = *r.name;
  else if (r.file == "-")
    throw Error(ErrorKind::usage, "uploading from stdin needs --name", "e.g. wfctl result upload 7 - --name kspace.npy");
  else name = fs::path(r.file).filename().string();

  UniqueFd fd;
  std::uint64_t total = 0;
  bool regular = false;
  if (r.file != "-") {
    fd = open_for_reading(r.file);
    struct stat st {};
    if (::fstat(fd.get(), &st) == 0) {
      total = static_cast<std::uint64_t>(st.st_size);
      regular = S_ISREG(st.st_mode);
    }
  }
  PutOptions opts;
  opts.force = r.force;
  opts.before_commit = r.before_commit;
  if (r.dicom || ends_with_dcm(name)) {
    opts.verify = [name](const std::string& temp_path) {
      try {
        dicom::validate(temp_path);
      } catch (const Error& e) {
        // Messages name the temporary copy; users know the file by its name.
        std::string msg = e.what();
        if (msg.rfind(temp_path, 0) == 0) msg = name + msg.substr(temp_path.size());
        throw Error(ErrorKind::invalid_input, msg, "upload it without --dicom and under another extension to store it as opaque bytes");
      }
    };
  }
  int in = r.file == "-" ? STDIN_FILENO : fd.get();
  if (r.file == "-") {
    // `< file` makes stdin a regular file, which the kernel can copy too (from its start only).
    struct stat st {};
    if (::fstat(in, &st) == 0 && S_ISREG(st.st_mode) && ::lseek(in, 0, SEEK_CUR) == 0) {
      regular = true;
      total = static_cast<std::uint64_t>(st.st_size);
    }
  }
  ByteSource source(fd_reader(in, input_name(r.file)));
  if (regular) source.file_fd = in;
  source.name = input_name(r.file);
  source.progress = between_chunks(r.progress, total);
  try {
    return store.put_result(r.record, name, source, opts);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::interrupted) throw;
    throw e.with_context(fmt::format("uploading {}", input_name(r.file)));
  }
}

ResultFile download_result(Store& store, const DownloadRequest& r) {
  std::string name = r.name.empty() ? default_result_name(r.record) : r.name;
  if (r.output == "-") {
    ByteSink sink(fd_writer(STDOUT_FILENO, "standard output"));
    std::uint64_t total = 0;
    if (r.progress) {
      if (auto meta = store.find_result(r.record, name)) total = meta->size;
    }
    sink.progress = between_chunks(r.progress, total);
    return store.read_result(r.record, name, sink);
  }
  // What is at the path decides: a directory takes the stored name, a device or FIFO is
  // written into as it is, a symbolic link is followed (the link stays), a file is replaced
  // only with --force, atomically.
  OutputPath out = resolve_output(r.output);
  std::string shown = r.output;
  if (out.kind == OutputPath::Kind::directory) {
    shown = (fs::path(r.output) / name).string();
    out = resolve_output(out.path / name);
    if (out.kind == OutputPath::Kind::directory) throw errno_error(EISDIR, "cannot write " + shown);
  }
  if (out.kind == OutputPath::Kind::regular && !r.force)
    throw Error(ErrorKind::conflict, shown + " already exists", "use --force to overwrite it");
  auto meta = store.find_result(r.record, name);
  if (!meta) throw Error(ErrorKind::not_found, record_path(r.record, name) + " not found");
  if (out.kind == OutputPath::Kind::special) {
    UniqueFd fd(::open(out.path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC));
    if (!fd) throw errno_error(errno, "cannot write " + shown);
    ByteSink sink(fd_writer(fd.get(), shown));
    sink.progress = between_chunks(r.progress, meta->size);
    return store.read_result(r.record, name, sink);
  }
  AtomicFile file(out.path, k_output_file_perms);
  ByteSink sink(fd_writer(file.fd(), file.what()));
  sink.file_fd = file.fd();
  sink.progress = with_writeback(file.fd(), between_chunks(r.progress, meta->size));
  auto result = store.read_result(r.record, name, sink);  // throws on a checksum mismatch
  file.commit(r.force);
  return result;
}

void write_preview(const std::string& path, std::string_view png) { write_output(path, png, k_output_file_perms); }

ResultCopy::ResultCopy(Store& store, RecordId record, const std::string& name)
    : m_label(record_path(record, name)) {
  if (auto local = store.local_result_path(record, name)) {
    m_path = *local;
    return;
  }
  fs::path copy = fs::temp_directory_path() / fmt::format("wfctl-record-{}-{}.dcm", record, random_hex(8));
  AtomicFile file(copy);
  ByteSink sink(fd_writer(file.fd(), file.what()));
  sink.file_fd = file.fd();
  store.read_result(record, name, sink);
  file.commit(false);
  m_path = m_temp = copy.string();
}

ResultCopy::~ResultCopy() {
  if (!m_temp.empty()) ::unlink(m_temp.c_str());
}

RecordOrFile parse_record_or_file(const std::string& text) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); }))
    return RecordOrFile{parse_id(text, "record id"), {}};
  return RecordOrFile{std::nullopt, text};
}

std::pair<double, double> parse_window(const std::string& text) {
  auto comma = text.find(',');
  try {
    if (comma != std::string::npos) {
      std::size_t p1 = 0, p2 = 0;
      std::string a = text.substr(0, comma), b = text.substr(comma + 1);
      double center = std::stod(a, &p1), width = std::stod(b, &p2);
      if (p1 == a.size() && p2 == b.size() && width > 0) return {center, width};
    }
  } catch (const std::exception&) {
  }
  throw Error(ErrorKind::usage, fmt::format("invalid --window '{}': expected CENTER,WIDTH with WIDTH > 0", text));
}

}  // namespace wfctl
