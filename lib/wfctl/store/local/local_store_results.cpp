// LocalStore: result files. The data lake holds the bytes and is the truth (see
// store/lake/reconcile.hpp); the results table is the index, caching each file's sha256.
#include <map>

#include <fmt/format.h>
#include <wfctl/error.hpp>
#include <wfctl/store/lake/data_lake.hpp>
#include <wfctl/store/lake/reconcile.hpp>
#include <wfctl/store/local/job_rows.hpp>
#include <wfctl/store/local/local_store.hpp>
#include <wfctl/store/local/sqlite.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/copy.hpp>
#include <wfctl/util/time.hpp>

namespace wfctl::local {

using lake::DataLake;
using lake::LakeFile;
using lake::Publication;
using lake::Removal;
using lake::StagedFile;

namespace {

using Row = lake::IndexEntry;

std::map<std::pair<RecordId, std::string>, Row> load_rows(sqlite::Database* db, std::optional<RecordId> record,
                                                          const std::string* name = nullptr) {
  std::map<std::pair<RecordId, std::string>, Row> rows;
  if (!db) return rows;
  std::string sql = "SELECT record_id, name, size, sha256, mtime_ns, inode, datetime_stored FROM results";
  if (record) sql += name ? " WHERE record_id = ? AND name = ?" : " WHERE record_id = ?";
  sqlite::Statement st(*db, sql);
  if (record) st.bind(1, *record);
  if (record && name) st.bind(2, *name);
  while (st.step()) {
    Row r;
    r.file.record_id = st.get_int(0);
    r.file.name = st.get_text(1);
    r.file.size = static_cast<std::uint64_t>(st.get_int(2));
    r.file.sha256 = st.get_text(3);
    r.mtime_ns = st.get_int(4);
    r.inode = static_cast<std::uint64_t>(st.get_int(5));
    r.file.datetime_stored = st.get_text(6);
    rows.emplace(std::make_pair(r.file.record_id, r.file.name), std::move(r));
  }
  return rows;
}

void upsert_row(sqlite::Database& db, const ResultFile& f, const LakeFile& stat) {
  sqlite::Statement st(db,
                       "INSERT OR REPLACE INTO results (record_id, name, size, sha256, mtime_ns, "
                       "inode, datetime_stored) VALUES (?, ?, ?, ?, ?, ?, ?)");
  st.bind(1, f.record_id).bind(2, f.name).bind(3, static_cast<std::int64_t>(f.size)).bind(4, f.sha256);
  st.bind(5, stat.mtime_ns).bind(6, static_cast<std::int64_t>(stat.inode)).bind(7, f.datetime_stored);
  st.run();
}

}  // namespace

// A write into the lake's tmp/, published under the index's write lock at commit.
class LocalResultWriter final : public ResultWriter {
 public:
  LocalResultWriter(LocalStore& store, RecordId record, std::string name, ResultWriteOptions options)
      : m_store(store), m_record(record), m_name(std::move(name)), m_options(std::move(options)) {}

  void write(const char* data, std::size_t size) override {
    m_options.cancel.check();
    if (m_staged) throw Error(ErrorKind::internal, "cannot write after the whole source was written");
    if (!m_staging) m_staging.emplace(m_store.lake().begin_staging());
    m_staging->append(data, size);
  }

  void write_from(const ByteSource& source) override {
    if (m_staging || m_staged) return ResultWriter::write_from(source);  // after chunks: append
    ByteSource checked = source;  // the copy stops between chunks once cancelled
    checked.progress = [this, &source](std::uint64_t done) {
      m_options.cancel.check();
      if (source.progress) source.progress(done);
    };
    m_options.cancel.check();
    m_staged = m_store.lake().stage(checked);
  }

  ResultFile commit(const BeforeCommit<ResultFile>& before_commit) override {
    if (!m_staged) m_staged = (m_staging ? std::move(*m_staging) : m_store.lake().begin_staging()).finish();
    m_staging.reset();
    m_options.cancel.check();
    // Lock, publish, index, commit: a failure at any step (a read-only database, a full disk,
    // a lock held past its timeout) takes the publication back, and the old file and row stay.
    Lease lease = m_store.writer();
    auto& d = *lease;
    std::optional<RelaxedSync> relaxed;
    if (m_options.finish_job) relaxed.emplace(d);  // see ResultWriteOptions::finish_job
    sqlite::CallCancel cancel(d, m_options.cancel);
    sqlite::Transaction tx(d);
    ResultFile file{m_record, m_name, m_staged->size(), m_staged->sha256(), now_iso_utc()};
    Publication published = m_store.lake().publish(*m_staged, m_record, m_name, m_options.force);
    upsert_row(d, file, published.file());
    if (m_options.job) m_job = insert_job(d, *m_options.job);
    if (m_options.finish_job) {
      m_job = finish_job(d, *m_options.finish_job);
      if (!m_job)
        throw Error(ErrorKind::conflict, fmt::format("job {} is no longer {}'s (cancelled?): its output is not stored",
                                                     m_options.finish_job->id, m_options.finish_job->worker));
    }
    try {
      if (before_commit) before_commit(file);
      tx.commit();
    } catch (...) {
      m_job.reset();  // rolled back with the file's row
      throw;
    }
    published.commit();
    m_staged.reset();
    return file;
  }

  std::optional<Job> job() const override { return m_job; }

 private:
  LocalStore& m_store;
  const RecordId m_record;
  const std::string m_name;
  const ResultWriteOptions m_options;
  std::optional<lake::Staging> m_staging;
  std::optional<StagedFile> m_staged;
  std::optional<Job> m_job;
};

std::unique_ptr<ResultWriter> LocalStore::write_result(RecordId record, const std::string& name,
                                                       const ResultWriteOptions& options) {
  DataLake::check_record(record);
  DataLake::check_name(name);
  if (options.job) check(*options.job);
  // Refuse before reading what may be gigabytes; publish() checks again without a race.
  if (!options.force && lake().stat(record, name))
    throw Error(ErrorKind::conflict, record_path(record, name) + " already exists");
  return std::make_unique<LocalResultWriter>(*this, record, name, options);
}

std::vector<ResultFile> LocalStore::list_results(std::optional<RecordId> record) {
  auto files = lake().scan(record);
  auto r = reader();
  auto rows = load_rows(r ? r->get() : nullptr, record);
  std::vector<ResultFile> out;
  out.reserve(files.size());
  for (const auto& f : files) {
    auto it = rows.find({f.record, f.name});
    if (auto rf = lake::reconcile(lake(), f, it == rows.end() ? nullptr : &it->second, m_options.cancel))
      out.push_back(std::move(*rf));
  }
  return out;
}

std::optional<ResultFile> LocalStore::find_result(RecordId record, const std::string& name) {
  DataLake::check_name(name);
  auto f = lake().stat(record, name);
  if (!f) return std::nullopt;
  auto r = reader();
  auto rows = load_rows(r ? r->get() : nullptr, record, &name);
  auto it = rows.find({record, name});
  return lake::reconcile(lake(), *f, it == rows.end() ? nullptr : &it->second, m_options.cancel);
}

ResultFile LocalStore::read_result(RecordId record, const std::string& name, const ByteSink& sink,
                                   const Cancel& cancel) {
  DataLake::check_name(name);
  auto opened = lake().open(record, name);
  if (!opened) throw Error(ErrorKind::not_found, record_path(record, name) + " not found");
  const LakeFile& stat = opened->second;
  auto r = reader();
  auto rows = load_rows(r ? r->get() : nullptr, record, &name);
  auto it = rows.find({record, name});
  std::optional<std::string> expected;
  std::string stored = iso_utc_from_ns(stat.mtime_ns);
  if (it != rows.end() && lake::describes(it->second, stat)) {
    expected = it->second.file.sha256;
    stored = it->second.file.datetime_stored;
  }
  const int fd = opened->first.get();
  const std::string what = record_path(record, name);
  auto progress = [&](std::uint64_t done) {
    cancel.check();
    if (sink.progress) sink.progress(done);
  };
  cancel.check();
  std::string actual = sink.file_fd >= 0 ? copy_file_hashed(fd, sink.file_fd, what, progress, "the output file").sha256
                                         : copy_hashed(fd_reader(fd, what), sink.write, progress).sha256;
  if (expected && *expected != actual)
    throw Error(ErrorKind::internal,
                fmt::format("{}: checksum mismatch: recorded sha256 {}, read {}", record_path(record, name),
                            *expected, actual),
                "the stored file is damaged");
  return ResultFile{record, name, stat.size, actual, stored};
}

std::vector<ResultFile> LocalStore::delete_results(RecordId record, const std::optional<std::string>& name,
                                               bool ignore_not_found,
                                               const WriteCall<std::vector<ResultFile>>& call) {
  DataLake::check_record(record);
  if (name) DataLake::check_name(*name);
  const auto what = [&] {
    return name ? record_path(record, *name) : record_path(record);
  };
  // Look before taking the write lock (and before creating a database to delete from).
  if (name ? !lake().stat(record, *name) : lake().scan(record).empty()) {
    if (ignore_not_found) return {};
    throw Error(ErrorKind::not_found, name ? what() + " not found" : what() + " holds no files");
  }
  Lease lease = writer();
  auto& d = *lease;
  sqlite::CallCancel cancel(d, call.cancel);
  sqlite::Transaction tx(d);
  // Under the lock no other wfctl changes the record: this is what gets deleted.
  std::vector<LakeFile> files;
  if (name) {
    if (auto f = lake().stat(record, *name)) files.push_back(*f);
  } else {
    files = lake().scan(record);
  }
  if (files.empty()) {
    if (ignore_not_found) return {};
    throw Error(ErrorKind::not_found, name ? what() + " not found" : what() + " holds no files");
  }
  auto rows = load_rows(&d, record);
  std::vector<std::string> names;
  std::vector<ResultFile> removed;
  sqlite::Statement del(d, "DELETE FROM results WHERE record_id = ? AND name = ?");
  for (const auto& f : files) {
    names.push_back(f.name);
    auto it = rows.find({record, f.name});
    bool known = it != rows.end() && lake::describes(it->second, f);
    removed.push_back(ResultFile{record, f.name, f.size, known ? it->second.file.sha256 : std::string(),
                                 known ? it->second.file.datetime_stored : iso_utc_from_ns(f.mtime_ns)});
    del.reset();
    del.bind(1, record).bind(2, f.name).run();
  }
  // Files out of sight first, then the rows: a failed commit puts the files back.
  Removal removal = lake().remove_files(record, names);
  if (call.before_commit) call.before_commit(removed);
  tx.commit();
  removal.commit();
  return removed;
}

std::optional<std::string> LocalStore::local_result_path(RecordId record, const std::string& name) {
  DataLake::check_name(name);
  if (!lake().stat(record, name)) return std::nullopt;
  return (m_root / record_path(record, name)).string();
}

}  // namespace wfctl::local
