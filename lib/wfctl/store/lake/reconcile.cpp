#include <wfctl/store/lake/reconcile.hpp>

#include <wfctl/util/copy.hpp>
#include <wfctl/util/fs.hpp>
#include <wfctl/util/time.hpp>

namespace wfctl::lake {

bool describes(const IndexEntry& entry, const LakeFile& f) noexcept {
  return entry.file.size == f.size && entry.mtime_ns == f.mtime_ns && entry.inode == f.inode;
}

std::optional<ResultFile> reconcile(const DataLake& lake, const LakeFile& f, const IndexEntry* entry,
                                    const Cancel& cancel) {
  if (entry && describes(*entry, f)) return entry->file;
  auto opened = lake.open(f.record, f.name);
  if (!opened) return std::nullopt;
  const auto what = record_path(f.record, f.name);
  auto hashed = copy_hashed(fd_reader(opened->first.get(), what), [](const char*, std::size_t) {},
                            [&](std::uint64_t) { cancel.check(); });
  return ResultFile{f.record, f.name, opened->second.size, hashed.sha256, iso_utc_from_ns(opened->second.mtime_ns)};
}

}  // namespace wfctl::lake
