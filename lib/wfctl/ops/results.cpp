#include <wfctl/ops/results.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <thread>
#include <wfctl/util/duration.hpp>
#include <fmt/format.h>
#include <wfctl/error.hpp>
#include <vector>
#include <wfctl/util/copy.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/store/lake/data_lake.hpp>
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

// Between chunks: stop once cancelled, and report progress.
std::function<void(std::uint64_t)> between_chunks(ProgressFn progress, std::uint64_t total, Cancel cancel = {}) {
  return [progress = std::move(progress), total, cancel = std::move(cancel)](std::uint64_t done) {
    cancel.check();
    if (progress) progress(done, total);
  };
}

// DCMTK reads by path: a descriptor's own path names exactly the bytes that will be stored.
std::string fd_path(int fd) { return fmt::format("/proc/self/fd/{}", fd); }

// A stream (a pipe) copied into an unnamed temporary file, so that it can be checked as DICOM
// before any of it is stored; gone when the descriptor closes.
UniqueFd spool(const ByteSource& source, const Cancel& cancel) {
  std::string dir = fs::temp_directory_path().string();
  UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!fd) throw errno_error(errno, "cannot create a temporary file in " + dir);
  // A plain copy: the bytes are hashed once, when they are stored.
  const std::string what = "a temporary file in " + dir;
  std::vector<char> buf(1 << 20);
  std::uint64_t done = 0;
  while (std::size_t n = source.read(buf.data(), buf.size())) {
    write_all(fd.get(), buf.data(), n, what);
    done += n;
    cancel.check();
    if (source.progress) source.progress(done);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) throw errno_error(errno, "cannot rewind a temporary file");
  return fd;
}

void validate_dicom(int fd, const std::string& name, const Cancel& cancel) {
  const std::string path = fd_path(fd);
  try {
    dicom::validate(path, cancel);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::invalid_input) throw;  // Ctrl-C, an unreadable file: as they are
    // Messages name the descriptor's path; users know the file by its name.
    std::string msg = e.what();
    if (msg.rfind(path, 0) == 0) msg = name + msg.substr(path.size());
    throw Error(ErrorKind::invalid_input, msg, {},
                {ErrorItem{{std::string("body"), std::string("file")}, "not a valid DICOM file", "value_error.dicom", msg}});
  }
}

}  // namespace

InputFile::InputFile(const std::string& path) : m_name(input_name(path)) {
  m_in = STDIN_FILENO;
  if (path != "-") {
    m_fd = open_for_reading(path);
    m_in = m_fd.get();
  }
  // `< file` makes stdin a regular file, which the kernel can copy too (from its start only).
  struct stat st {};
  if (::fstat(m_in, &st) == 0 && S_ISREG(st.st_mode) && (path != "-" || ::lseek(m_in, 0, SEEK_CUR) == 0)) {
    m_regular = true;
    m_size = static_cast<std::uint64_t>(st.st_size);
  }
}

ByteSource InputFile::source(const ProgressFn& progress) const {
  ByteSource source(fd_reader(m_in, m_name));
  if (m_regular) source.file_fd = m_in;
  source.name = m_name;
  source.progress = between_chunks(progress, m_size);
  return source;
}

namespace {

// What ingest_result and ResultIngest decide before any byte is read: the stored name (checked)
// and the job submitted with it.
std::optional<JobSpec> ingest_job(Store& store, RecordId record, const std::string& stored, const IngestOptions& o) {
  lake::DataLake::check_record(record);
  lake::DataLake::check_name(stored);
  if (stored != default_result_name(record))
    require(store, Capability::arbitrary_result_names, fmt::format("storing a file named '{}'", lake::escape_name(stored)));
  const bool external = o.transport && o.transport->external();
  auto job = upload_job(record, stored, o.job, external);
  if (store.uploads_always_submit_jobs()) {
    // The server publishes its own job with every upload: what it cannot leave out or
    // redirect is refused before anything is sent.
    if (!o.job.submit)
      throw Error(ErrorKind::not_supported,
                  fmt::format("an upload without a reconstruction job (--no-job) is not supported by store {}: it "
                              "submits one with every upload", store.describe()));
    if (o.job.topic != k_default_topic)
      throw Error(ErrorKind::not_supported,
                  fmt::format("a reconstruction job on topic '{}' is not supported by store {}: its uploads always "
                              "publish to {}", o.job.topic, store.describe(), k_default_topic));
    job.reset();
  } else if (job) {
    require(store, Capability::job_queue, "submitting the reconstruction job of an upload");
    check(*job);
  }
  return job;
}

// Stored with its job: now the transport carries it (a failure here keeps both, marked).
void deliver_uploaded(Store& store, RecordId record, const std::string& stored, Ingested& done, const IngestOptions& o) {
  if (!done.job || !o.transport) return;
  try {
    done.job = deliver_job(store, *o.transport, *done.job, o.cancel);
  } catch (const Error& e) {
    throw Error(e.kind(), fmt::format("{} was stored, but {}", record_path(record, stored), e.what()), e.hint());
  }
}

}  // namespace

ResultIngest::ResultIngest(Store& store, RecordId record, const std::optional<std::string>& name,
                           const IngestOptions& options)
    : m_store(store), m_record(record), m_name(name.value_or(default_result_name(record))), m_options(options) {
  auto job = ingest_job(store, record, m_name, options);
  if (options.dicom || ends_with_dcm(m_name)) {
    std::string dir = fs::temp_directory_path().string();
    m_spool = UniqueFd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!m_spool) throw errno_error(errno, "cannot create a temporary file in " + dir);
  }
  m_writer = store.write_result(record, m_name, ResultWriteOptions{options.force, options.cancel, job, options.finish_job});
}

ResultIngest::~ResultIngest() = default;

void ResultIngest::write(const char* data, std::size_t size) {
  if (m_spool) write_all(m_spool.get(), data, size, "a temporary file");
  else m_writer->write(data, size);
  m_size += size;
  m_options.cancel.check();
}

Ingested ResultIngest::commit() {
  Ingested done;
  try {
    if (m_spool) {
      if (::lseek(m_spool.get(), 0, SEEK_SET) != 0) throw errno_error(errno, "cannot rewind a temporary file");
      validate_dicom(m_spool.get(), m_name, m_options.cancel);
      ByteSource input(fd_reader(m_spool.get(), m_name));
      input.file_fd = m_spool.get();
      input.name = m_name;
      m_writer->write_from(input);
    }
    BeforeCommit<ResultFile> hook;
    if (m_options.before_commit) hook = [&](const ResultFile& f) { m_options.before_commit(Ingested{f, m_writer->job()}); };
    done.file = m_writer->commit(hook);
    done.job = m_writer->job();
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::interrupted) throw;
    throw e.with_context(fmt::format("uploading {}", m_name));
  }
  m_writer.reset();
  m_spool = UniqueFd();
  deliver_uploaded(m_store, m_record, m_name, done, m_options);
  return done;
}

Ingested ingest_result(Store& store, RecordId record, const std::optional<std::string>& name,
                       const ByteSource& source, const IngestOptions& o) {
  const std::string stored = name.value_or(default_result_name(record));
  auto job = ingest_job(store, record, stored, o);
  Ingested done;
  try {
    UniqueFd spooled;
    ByteSource input = source;
    if (o.dicom || ends_with_dcm(stored)) {
      if (input.file_fd < 0) {
        spooled = spool(input, o.cancel);
        input = ByteSource(fd_reader(spooled.get(), input.name));
        input.file_fd = spooled.get();
        input.name = source.name;
        input.progress = {};
      }
      validate_dicom(input.file_fd, stored, o.cancel);
    }
    auto writer = store.write_result(record, stored, ResultWriteOptions{o.force, o.cancel, job, o.finish_job});
    writer->write_from(input);
    BeforeCommit<ResultFile> hook;
    if (o.before_commit) hook = [&](const ResultFile& f) { o.before_commit(Ingested{f, writer->job()}); };
    done.file = writer->commit(hook);
    done.job = writer->job();
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::interrupted || source.name.empty()) throw;
    throw e.with_context(fmt::format("uploading {}", source.name));
  }
  deliver_uploaded(store, record, stored, done, o);
  return done;
}

ResultFile download_result(Store& store, const DownloadRequest& r) {
  std::string name = r.name.empty() ? default_result_name(r.record) : r.name;
  const auto chunks = [&](std::uint64_t total) { return between_chunks(r.progress, total, r.cancel); };
  if (r.image) {
    ByteSink sink(fd_writer(STDOUT_FILENO, "standard output"));
    sink.progress = chunks(0);
    return store.read_image(r.record, sink, r.cancel);
  }
  if (r.output == "-") {
    ByteSink sink(fd_writer(STDOUT_FILENO, "standard output"));
    std::uint64_t total = 0;
    if (r.progress) {
      if (auto meta = store.find_result(r.record, name)) total = meta->size;
    }
    sink.progress = chunks(total);
    return store.read_result(r.record, name, sink, r.cancel);
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
    throw Error(ErrorKind::conflict, shown + " already exists");
  auto meta = store.find_result(r.record, name);
  if (!meta) {
    // A store that cannot list (a reference server) says in its own words what it answered.
    if (!store.capabilities().result_listing)
      store.read_result(r.record, name, ByteSink([](const char*, std::size_t) {}), r.cancel);
    throw Error(ErrorKind::not_found, record_path(r.record, name) + " not found");
  }
  if (out.kind == OutputPath::Kind::special) {
    UniqueFd fd(::open(out.path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC));
    if (!fd) throw errno_error(errno, "cannot write " + shown);
    ByteSink sink(fd_writer(fd.get(), shown));
    sink.progress = chunks(meta->size);
    return store.read_result(r.record, name, sink, r.cancel);
  }
  AtomicFile file(out.path, k_output_file_perms);
  ByteSink sink(fd_writer(file.fd(), file.what()));
  sink.file_fd = file.fd();
  sink.progress = with_writeback(file.fd(), chunks(meta->size));
  auto result = store.read_result(r.record, name, sink, r.cancel);  // throws on a checksum mismatch
  file.commit(r.force);
  return result;
}

ResultFile wait_for_result(Store& store, RecordId record, const std::string& name, const ResultWait& wait,
                           const Cancel& cancel) {
  const std::string stored = name.empty() ? default_result_name(record) : name;
  const auto started = std::chrono::steady_clock::now();
  std::mt19937_64 rng(std::random_device{}());
  auto delay = std::chrono::milliseconds(200);
  for (bool first = true;; first = false) {
    cancel.check();
    if (auto found = store.find_result(record, stored)) return *found;
    if (first && wait.on_waiting) wait.on_waiting(record_path(record, lake::escape_name(stored)));
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    if (wait.timeout && waited >= *wait.timeout)
      throw Error(ErrorKind::timed_out, fmt::format("timed out after {} waiting for {}", format_duration(*wait.timeout),
                                                    record_path(record, lake::escape_name(stored))));
    // Jittered (half to all of the step), so that many waiters do not ask in step.
    std::uniform_int_distribution<std::int64_t> jitter(delay.count() / 2, delay.count());
    auto sleep = std::chrono::milliseconds(jitter(rng));
    if (wait.timeout) sleep = std::min(sleep, *wait.timeout - waited);
    const auto until = std::chrono::steady_clock::now() + sleep;
    while (std::chrono::steady_clock::now() < until) {
      cancel.check();
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(50),
                                                                                 until - std::chrono::steady_clock::now()));
    }
    delay = std::min(delay * 2, wait.max_delay);
  }
}

void write_preview(const std::string& path, std::string_view png) { write_output(path, png, k_output_file_perms); }

ResultCopy::ResultCopy(Store& store, RecordId record, const std::string& name, const Cancel& cancel)
    : m_label(record_path(record, name)) {
  if (auto local = store.local_result_path(record, name)) {
    m_path = *local;
    return;
  }
  fs::path copy = fs::temp_directory_path() / fmt::format("wfctl-record-{}-{}.dcm", record, random_hex(8));
  AtomicFile file(copy);
  ByteSink sink(fd_writer(file.fd(), file.what()));
  sink.file_fd = file.fd();
  store.read_result(record, name, sink, cancel);
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

std::string preview(Store& store, RecordId record, const dicom::RenderOptions& options, const Cancel& cancel) {
  ResultCopy copy(store, record, default_result_name(record), cancel);
  cancel.check();
  return dicom::render_png_bytes(copy.path(), options, cancel);
}

Json describe_dicom(Store& store, const RecordOrFile& target, bool all, const Cancel& cancel) {
  std::optional<ResultCopy> copy;
  std::string path = target.path;
  if (target.record) {
    copy.emplace(store, *target.record, default_result_name(*target.record), cancel);
    path = copy->path();
  }
  cancel.check();
  return all ? dicom::to_dicom_json(path, cancel) : dicom::to_json(dicom::read_summary(path, cancel));
}

namespace {

// Every result looked up (and copied when the store has no local file) before any DICOM work.
struct Sources {
  std::vector<std::unique_ptr<ResultCopy>> copies;
  std::vector<dicom::ExportSource> sources;
};

Sources sources_for(Store& store, const std::vector<RecordId>& records, const Cancel& cancel) {
  std::vector<RecordId> ids;
  for (auto id : records)  // `export 7 7` is `export 7`
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  Sources s;
  for (auto id : ids) {
    s.copies.push_back(std::make_unique<ResultCopy>(store, id, default_result_name(id), cancel));
    s.sources.push_back({s.copies.back()->path(), s.copies.back()->label()});
  }
  return s;
}

}  // namespace

std::vector<dicom::Exported> export_results(Store& store, const std::vector<RecordId>& records, const std::string& dir,
                                            bool anonymize, const Cancel& cancel) {
  auto s = sources_for(store, records, cancel);
  cancel.check();
  return dicom::export_tree(s.sources, dir, anonymize, cancel);
}

std::vector<dicom::SendStatus> send_results(Store& store, const std::vector<RecordId>& records,
                                            const dicom::Peer& peer, const std::string& calling_aet,
                                            int timeout_seconds, const Cancel& cancel) {
  auto s = sources_for(store, records, cancel);
  cancel.check();
  return dicom::send(s.sources, peer, calling_aet, timeout_seconds, cancel);
}

void throw_if_failed(const std::vector<dicom::SendStatus>& statuses, const std::string& peer) {
  auto failed = std::count_if(statuses.begin(), statuses.end(), [](const auto& s) { return !s.ok; });
  if (failed > 0)
    throw Error(ErrorKind::unavailable, fmt::format("{} of {} files were not stored by {}", failed, statuses.size(), peer));
}

}  // namespace wfctl
