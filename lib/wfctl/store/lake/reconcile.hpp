#pragma once
// The lake is the truth: a reconstruction service writes records/{id}/record-{id}.dcm into it
// directly, behind any index's back. An index entry (whatever keeps it: SQLite locally, a
// shared database later) describes a file only while the file's size, mtime and inode are
// those the entry recorded; otherwise the file is hashed when it is read.
#include <cstdint>
#include <optional>

#include <wfctl/model/result.hpp>
#include <wfctl/store/lake/data_lake.hpp>
#include <wfctl/util/cancel.hpp>

namespace wfctl::lake {

/// What an index remembers of one lake file.
struct IndexEntry {
  ResultFile file;
  std::int64_t mtime_ns = 0;
  std::uint64_t inode = 0;
};

/// Whether `entry` still describes the file `f`.
bool describes(const IndexEntry& entry, const LakeFile& f) noexcept;

/// The metadata of the lake file `f`: the entry's while it describes the file; otherwise the
/// file is hashed now (reads never write, so the hash is not remembered: the next write of
/// that file records it). nullopt when the file vanished meanwhile. Throws Error(interrupted)
/// once `cancel` is cancelled.
std::optional<ResultFile> reconcile(const DataLake& lake, const LakeFile& f, const IndexEntry* entry,
                                    const Cancel& cancel);

}  // namespace wfctl::lake
