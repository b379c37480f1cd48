// LocalStore: result files. The data lake holds the bytes and is the truth (a reconstruction
// service may write records/{id}/record-{id}.dcm directly); the results table caches each
// file's sha256, trusted only while size, mtime and inode still match the file.
#include <map>

#include <fmt/format.h>
#include <wfctl/error.hpp>
#include <wfctl/store/lake/data_lake.hpp>
#include <wfctl/store/local/local_store.hpp>
#include <wfctl/store/local/sqlite.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/copy.hpp>
#include <wfctl/util/signals.hpp>
#include <wfctl/util/time.hpp>

namespace wfctl::local {

using lake::DataLake;
using lake::LakeFile;
using lake::Publication;
using lake::Removal;
using lake::StagedFile;

namespace {

struct Row {
  ResultFile file;
  std::int64_t mtime_ns = 0;
  std::uint64_t inode = 0;
};

bool matches(const Row& row, const LakeFile& f) {
  return row.file.size == f.size && row.mtime_ns == f.mtime_ns && row.inode == f.inode;
}

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

// The sha256 of an open file, read through.
std::string hash_file(int fd, const std::string& what) {
  return copy_hashed(fd_reader(fd, what), [](const char*, std::size_t) {}, [](std::uint64_t) { throw_if_interrupted(); })
      .sha256;
}

// One file's metadata: its row while size, mtime and inode still match; otherwise (written
// behind our back, or by an upload killed after its rename) hashed now. Reads never write, so
// the hash is not remembered. nullopt when the file vanished meanwhile.
std::optional<ResultFile> metadata_of(DataLake& lake, const LakeFile& f, const Row* row) {
  if (row && matches(*row, f)) return row->file;
  auto opened = lake.open(f.record, f.name);
  if (!opened) return std::nullopt;
  return ResultFile{f.record, f.name, opened->second.size,
                    hash_file(opened->first.get(), record_path(f.record, f.name)),
                    iso_utc_from_ns(opened->second.mtime_ns)};
}

}  // namespace

ResultFile LocalStore::put_result(RecordId record, const std::string& name, const ByteSource& source,
                                  const PutOptions& opts) {
  DataLake::check_name(name);
  // Refuse before reading what may be gigabytes; publish() checks again without a race.
  if (!opts.force && lake().stat(record, name))
    throw Error(ErrorKind::conflict, record_path(record, name) + " already exists", "use --force to replace it");
  StagedFile staged = lake().stage(source);
  if (opts.verify) opts.verify(staged.path().string());
  // Lock, publish, index, commit: a failure at any step (a read-only database, a full disk,
  // a lock held past its timeout) takes the publication back, and the old file and row stay.
  auto& d = writer();
  sqlite::Transaction tx(d);
  ResultFile file{record, name, staged.size(), staged.sha256(), now_iso_utc()};
  Publication published = lake().publish(staged, record, name, opts.force);
  upsert_row(d, file, published.file());
  if (opts.before_commit) opts.before_commit(file);
  tx.commit();
  published.commit();
  return file;
}

std::vector<ResultFile> LocalStore::list_results(std::optional<RecordId> record) {
  auto files = lake().scan(record);
  auto rows = load_rows(reader(), record);
  std::vector<ResultFile> out;
  out.reserve(files.size());
  for (const auto& f : files) {
    auto it = rows.find({f.record, f.name});
    if (auto rf = metadata_of(lake(), f, it == rows.end() ? nullptr : &it->second)) out.push_back(std::move(*rf));
  }
  return out;
}

std::optional<ResultFile> LocalStore::find_result(RecordId record, const std::string& name) {
  DataLake::check_name(name);
  auto f = lake().stat(record, name);
  if (!f) return std::nullopt;
  auto rows = load_rows(reader(), record, &name);
  auto it = rows.find({record, name});
  return metadata_of(lake(), *f, it == rows.end() ? nullptr : &it->second);
}

ResultFile LocalStore::read_result(RecordId record, const std::string& name, const ByteSink& sink) {
  DataLake::check_name(name);
  auto opened = lake().open(record, name);
  if (!opened) throw Error(ErrorKind::not_found, record_path(record, name) + " not found");
  const LakeFile& stat = opened->second;
  auto rows = load_rows(reader(), record, &name);
  auto it = rows.find({record, name});
  std::optional<std::string> expected;
  std::string stored = iso_utc_from_ns(stat.mtime_ns);
  if (it != rows.end() && matches(it->second, stat)) {
    expected = it->second.file.sha256;
    stored = it->second.file.datetime_stored;
  }
  const int fd = opened->first.get();
  const std::string what = record_path(record, name);
  auto progress = [&](std::uint64_t done) {
    if (sink.progress) sink.progress(done);
  };
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
                                               const BeforeCommit<std::vector<ResultFile>>& before_commit) {
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
  auto& d = writer();
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
    bool known = it != rows.end() && matches(it->second, f);
    removed.push_back(ResultFile{record, f.name, f.size, known ? it->second.file.sha256 : std::string(),
                                 known ? it->second.file.datetime_stored : iso_utc_from_ns(f.mtime_ns)});
    del.reset();
    del.bind(1, record).bind(2, f.name).run();
  }
  // Files out of sight first, then the rows: a failed commit puts the files back.
  Removal removal = lake().remove_files(record, names);
  if (before_commit) before_commit(removed);
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
