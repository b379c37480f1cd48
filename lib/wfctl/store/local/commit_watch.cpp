#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <wfctl/error.hpp>
#include <wfctl/store/local/commit_watch.hpp>

namespace wfctl::sqlite {

namespace {
// The layout in walformat.html: two copies of a 48-byte header (native byte order), the first
// word of each being the index version 3007000, byte 12 isInit.
constexpr std::uint32_t k_index_version = 3007000;
constexpr int k_region_size = 32768;  // SQLite maps its index in regions of 32 KiB
}  // namespace

std::unique_ptr<CommitWatch> CommitWatch::open(const std::string& path) {
  try {
    LockWait no_wait;
    no_wait.timeout = std::chrono::milliseconds(0);
    auto db = std::make_unique<Database>(path, false, false, no_wait);
    // A statement opens the WAL and maps the index; the mapping stays while the connection is
    // open. Another mode (a rollback journal, or an exclusive lock without shared memory) has
    // no index to watch.
    std::string mode;
    {
      Statement st(*db, "PRAGMA journal_mode");
      if (!st.step()) return nullptr;
      mode = st.get_text(0);
    }
    if (mode != "wal") return nullptr;
    { Statement st(*db, "SELECT count(*) FROM sqlite_master"); st.step(); }
    sqlite3_file* file = nullptr;
    if (sqlite3_file_control(db->handle(), "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || !file ||
        !file->pMethods || file->pMethods->iVersion < 2 || !file->pMethods->xShmMap)
      return nullptr;
    volatile void* region = nullptr;
    // SQLITE_READONLY: an index this process may read but not write, mapped all the same.
    const int rc = file->pMethods->xShmMap(file, 0, k_region_size, 0, &region);
    if ((rc != SQLITE_OK && rc != SQLITE_READONLY) || !region) return nullptr;
    std::unique_ptr<CommitWatch> watch(new CommitWatch(std::move(db), static_cast<const volatile std::uint32_t*>(region)));
    if (!watch->header()) return nullptr;
    return watch;
  } catch (const Error&) {
    return nullptr;
  }
}

// As SQLite's readers read it (walIndexTryHdr): the first copy, then the second, which a
// commit writes first; they differ while a commit is between the two.
std::optional<CommitWatch::Header> CommitWatch::header() const {
  Header first{}, second{};
  for (std::size_t i = 0; i < first.size(); ++i) first[i] = m_index[i];
  std::atomic_thread_fence(std::memory_order_acquire);
  for (std::size_t i = 0; i < second.size(); ++i) second[i] = m_index[first.size() + i];
  const bool initialised = reinterpret_cast<const unsigned char*>(first.data())[12] != 0;  // isInit
  if (first != second || first[0] != k_index_version || !initialised) return std::nullopt;
  return first;
}

}  // namespace wfctl::sqlite
