// Result files over HTTP: uploads streamed as multipart (from the file itself, or from a
// bounded spool file when the bytes arrive in chunks), downloads streamed to the sink with the
// server's digest verified.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>
#include <wfctl/store/lake/data_lake.hpp>
#include <wfctl/store/remote/remote_store.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/sha256.hpp>
#include <wfctl/util/time.hpp>

namespace wfctl::remote {

namespace {

constexpr std::string_view k_upload_ok = "Successfully uploaded";

std::string shown(RecordId record, const std::string& name) { return record_path(record, lake::escape_name(name)); }

// What the reference's contract can name: only a record's own result is downloadable there.
void require_default_name(const RemoteStore& store, RecordId record, const std::string& name, std::string_view doing) {
  if (name != default_result_name(record))
    store.require_wfctl(fmt::format("{} a file other than {}", doing, default_result_name(record)));
}

class RemoteWriter final : public ResultWriter {
 public:
  RemoteWriter(RemoteStore& store, RecordId record, std::string name, ResultWriteOptions options)
      : m_store(store), m_record(record), m_name(std::move(name)), m_options(std::move(options)) {}

  void write(const char* data, std::size_t size) override {
    m_options.cancel.check();
    if (m_sent) throw Error(ErrorKind::internal, "a write after the upload was sent");
    if (!m_spool) {
      // Bytes that come in chunks wait in an unnamed temporary file (bounded memory), so
      // that the upload can announce its length.
      std::string dir = std::filesystem::temp_directory_path().string();
      m_spool.reset(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
      if (!m_spool) throw errno_error(errno, "cannot create a temporary file in " + dir);
    }
    write_all(m_spool.get(), data, size, "a temporary file");
    m_spooled += size;
  }

  void write_from(const ByteSource& source) override {
    struct stat st {};
    off_t at = source.file_fd >= 0 ? ::lseek(source.file_fd, 0, SEEK_CUR) : -1;
    if (m_spool || m_sent || source.file_fd < 0 || at < 0 || ::fstat(source.file_fd, &st) != 0 || !S_ISREG(st.st_mode))
      return ResultWriter::write_from(source);
    // A regular file: streamed straight from it into the request.
    upload(source.read, static_cast<std::uint64_t>(st.st_size - at), source.progress);
  }

  ResultFile commit(const BeforeCommit<ResultFile>& before_commit) override {
    if (!m_sent) {
      if (m_spool && ::lseek(m_spool.get(), 0, SEEK_SET) != 0) throw errno_error(errno, "cannot rewind a temporary file");
      ReadFn read = m_spool ? fd_reader(m_spool.get(), "a temporary file") : ReadFn([](char*, std::size_t) { return std::size_t{0}; });
      upload(read, m_spooled, {});
    }
    // The server stored the file when it answered. A hook that refuses (a print that
    // failed) gets a new file undone, and its job cancelled, where the server can delete; a
    // replaced file cannot come back (the man page says so).
    if (before_commit) {
      try {
        before_commit(m_file);
      } catch (...) {
        undo();
        throw;
      }
    }
    return m_file;
  }

  std::optional<Job> job() const override { return m_job; }

 private:
  void undo() noexcept {
    if (m_options.force || !has(m_store.capabilities(), Capability::result_deletion)) return;
    try {
      if (m_job) m_store.jobs().cancel({m_job->id});
    } catch (...) {
    }
    try {
      m_store.delete_results(m_record, m_name, true, {});
    } catch (...) {
    }
  }

  void upload(const ReadFn& read, std::uint64_t size, const std::function<void(std::uint64_t)>& progress) {
    m_sent = true;
    const bool wfctl = m_store.server().is_wfctl;
    Sha256 hash;
    std::uint64_t done = 0;
    // Against wfctl serve the digest is the server's, of what it stored (and it answers with
    // the size it received, checked below); hashing here as well made an upload a third
    // slower on two cores. Against the reference the client's own hash is all there is.
    ReadFn counted = [&](char* buf, std::size_t cap) {
      std::size_t n = read(buf, cap);
      if (!wfctl) hash.update(buf, n);
      done += n;
      if (n && progress) progress(done);
      m_options.cancel.check();
      return n;
    };
    Call c;
    c.method = "POST";
    c.path = fmt::format("/upload/{}/", m_record);
    if (wfctl) {
      c.query = fmt::format("force={}&job={}", m_options.force ? "true" : "false", m_options.job ? "true" : "false");
      if (m_options.job) c.query += "&topic=" + net::percent_encode(m_options.job->topic);
      if (const auto& f = m_options.finish_job)
        c.query += fmt::format("&finish_job={}&worker={}&message={}", f->id, net::percent_encode(f->worker),
                               net::percent_encode(f->message));
    }
    c.body = net::FilePart{"file", m_name, "application/octet-stream", counted, size};
    c.what = "uploading " + shown(m_record, m_name);
    c.cancel = m_options.cancel;
    auto r = m_store.send(c);  // a POST: never sent twice
    if (r.status != 200 && r.status != 201) throw m_store.error_for(c, r);
    Json j = parse_body(r, c.what);
    std::string message = j.is_object() && j.contains("message") && j["message"].is_string() ? j["message"].get<std::string>() : "";
    if (message.rfind(k_upload_ok, 0) != 0)
      throw Error(ErrorKind::unavailable,
                  fmt::format("{}: {} answered {} but did not store it: {}", c.what, m_store.describe(), r.status,
                              message.empty() ? r.body.substr(0, 200) : message));
    if (done != size) throw Error(ErrorKind::internal, fmt::format("{}: sent {} of {} bytes", c.what, done, size));
    if (wfctl) {
      if (!j.contains("result")) throw Error(ErrorKind::unavailable, c.what + ": the server's answer has no \"result\"");
      m_file = result_from_json(j["result"], c.what);
      if (m_file.size != done)
        throw Error(ErrorKind::unavailable,
                    fmt::format("{}: {} stored {} bytes of the {} sent", c.what, m_store.describe(), m_file.size, done));
      if (j.contains("job") && !j["job"].is_null()) m_job = job_from_json(j["job"], c.what);
      if (m_options.finish_job && !m_job)
        throw Error(ErrorKind::unavailable, c.what + ": the server stored the output but did not say how its job ended");
    } else {
      // What the client knows: what it sent. The reference keeps no digest (stored_digests
      // stays false); this one is the hash of the bytes sent.
      m_file = ResultFile{m_record, m_name, done, hash.hex_digest(), now_iso_utc()};
    }
  }

  RemoteStore& m_store;
  RecordId m_record;
  std::string m_name;
  ResultWriteOptions m_options;
  UniqueFd m_spool;
  std::uint64_t m_spooled = 0;
  bool m_sent = false;
  ResultFile m_file;
  std::optional<Job> m_job;
};

struct Probed {};  // a lookup that has seen the headers it wanted stops the transfer

}  // namespace

std::unique_ptr<ResultWriter> RemoteStore::write_result(RecordId record, const std::string& name,
                                                        const ResultWriteOptions& options) {
  lake::DataLake::check_record(record);
  lake::DataLake::check_name(name);
  if (options.finish_job) {
    require_wfctl("finishing a job with its output");
    if (options.job) throw Error(ErrorKind::internal, "an upload that finishes a job submits none");
  }
  if (name != default_result_name(record))
    require(*this, Capability::arbitrary_result_names, fmt::format("storing a file named '{}'", lake::escape_name(name)));
  if (options.job && server().is_wfctl) require(*this, Capability::job_queue, "submitting the reconstruction job of an upload");
  return std::make_unique<RemoteWriter>(*this, record, name, options);
}

std::vector<ResultFile> RemoteStore::list_results(std::optional<RecordId> record) {
  require(*this, Capability::result_listing, "listing result files");
  Call c;
  c.path = record ? fmt::format("/results/{}/", *record) : "/results/";
  c.what = record ? "listing " + record_path(*record) : "listing result files";
  Json j = parse_body(expect(c, {200}), c.what);
  if (!j.is_array()) throw Error(ErrorKind::unavailable, c.what + ": the server's answer is not a list");
  std::vector<ResultFile> out;
  for (const auto& f : j) out.push_back(result_from_json(f, c.what));
  return out;
}

std::optional<ResultFile> RemoteStore::find_result(RecordId record, const std::string& name) {
  if (capabilities().result_listing) {
    for (auto& f : list_results(record))
      if (f.name == name) return f;
    return std::nullopt;
  }
  require_default_name(*this, record, name, "looking up");
  // The reference has no lookup: start the download and stop once its headers came.
  Call c;
  c.path = fmt::format("/download/{}/", record);
  c.what = "looking up " + shown(record, name);
  std::optional<std::uint64_t> length;
  c.on_headers = [&](long status, const net::Headers& h) {
    if (status != 200) return;
    if (auto cl = h.find("Content-Length")) length = std::stoull(*cl);
    throw Probed{};
  };
  try {
    auto r = send(c);
    if (r.status == 500 || r.status == 404) return std::nullopt;  // the reference's "missing" is a 500
    if (r.status != 200) throw error_for(c, r);
    return ResultFile{record, name, r.body_bytes, "", ""};
  } catch (const Probed&) {
    return ResultFile{record, name, length.value_or(0), "", ""};
  }
}

namespace {

ResultFile download(const RemoteStore& store, Call c, RecordId record, const std::string& name, const ByteSink& sink,
                    bool image) {
  const bool wfctl = store.server().is_wfctl;
  Sha256 hash;
  std::uint64_t done = 0;
  WriteFn counted = [&](const char* d, std::size_t n) {
    hash.update(d, n);
    sink.write(d, n);
    done += n;
    if (sink.progress) sink.progress(done);
  };
  c.sink = &counted;
  net::Response r;
  try {
    r = store.send(c);
  } catch (const net::TransportError& e) {
    if (!wfctl && image && e.failure() == net::Failure::dropped && e.body_bytes() == 0)
      throw Error(ErrorKind::not_found,
                  fmt::format("{} not found: {} dropped the connection without sending it (the reference's answer for a "
                              "missing image)", shown(record, name), store.describe()));
    throw;
  }
  if (r.status == 404) throw Error(ErrorKind::not_found, shown(record, name) + " not found");
  if (!wfctl && r.status == 500) {
    std::string detail = error_for_response(r.status, r.body, std::nullopt, store.describe(), "x").what();
    detail = detail.substr(3);  // "x: "
    throw Error(ErrorKind::not_found,
                fmt::format("{} not found: {} (the reference's answer for a missing result)", shown(record, name), detail));
  }
  if (r.status != 200) throw store.error_for(c, r);
  const std::string expected = response_sha256(r.headers.find("Repr-Digest"), r.headers.find("ETag"));
  const std::string actual = hash.hex_digest();
  if (!expected.empty() && expected != actual)
    throw Error(ErrorKind::internal, fmt::format("{}: sha256 mismatch: {} announced {} but sent bytes hashing to {}", c.what,
                                                 store.describe(), expected, actual));
  if (auto cl = r.headers.find("Content-Length"); cl && *cl != std::to_string(done))
    throw Error(ErrorKind::unavailable, fmt::format("{}: {} sent {} bytes of {}", c.what, store.describe(), done, *cl));
  // A digest the server never sent is not claimed.
  return ResultFile{record, name, done, expected.empty() ? "" : actual, ""};
}

}  // namespace

ResultFile RemoteStore::read_result(RecordId record, const std::string& name, const ByteSink& sink, const Cancel& cancel) {
  Call c;
  if (server().is_wfctl) {
    c.path = fmt::format("/results/{}/{}", record, net::percent_encode(name));
  } else {
    require_default_name(*this, record, name, "downloading");
    c.path = fmt::format("/download/{}/", record);
  }
  c.what = "downloading " + shown(record, name);
  c.cancel = cancel;
  return download(*this, std::move(c), record, name, sink, false);
}

ResultFile RemoteStore::read_image(RecordId record, const ByteSink& sink, const Cancel& cancel) {
  Call c;
  c.path = fmt::format("/image/{}/", record);
  c.what = "reading the image of " + record_path(record);
  c.cancel = cancel;
  return download(*this, std::move(c), record, default_result_name(record), sink, true);
}

std::vector<ResultFile> RemoteStore::delete_results(RecordId record, const std::optional<std::string>& name,
                                                    bool ignore_not_found, const WriteCall<std::vector<ResultFile>>& call) {
  require(*this, Capability::result_deletion, "deleting result files");
  Call c;
  c.method = "DELETE";
  c.path = name ? fmt::format("/results/{}/{}", record, net::percent_encode(*name)) : fmt::format("/results/{}/", record);
  if (ignore_not_found) c.query = "ignore_not_found=true";
  c.what = "deleting " + (name ? shown(record, *name) : record_path(record) + " files");
  c.cancel = call.cancel;
  auto r = send(c);
  if (r.status == 404 && !ignore_not_found)
    throw Error(ErrorKind::not_found, (name ? shown(record, *name) : "no file of " + record_path(record)) + " found");
  std::vector<ResultFile> removed;
  if (r.status != 404) {
    if (r.status != 200) throw error_for(c, r);
    Json j = parse_body(r, c.what);
    if (!j.is_array()) throw Error(ErrorKind::unavailable, c.what + ": the server's answer is not a list");
    for (const auto& f : j) removed.push_back(result_from_json(f, c.what));
  }
  if (call.before_commit && !removed.empty()) call.before_commit(removed);
  return removed;
}

}  // namespace wfctl::remote
