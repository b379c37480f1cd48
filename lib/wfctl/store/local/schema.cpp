#include <wfctl/store/local/schema.hpp>

#include <wfctl/util/time.hpp>

namespace wfctl::local {

namespace {
struct Migration {
  const char* name;
  const char* sql;
};

// Append only: a released migration is never edited, so every store upgrades the same way.
const Migration k_migrations[] = {
    {"0001-create-workflows", R"sql(
CREATE TABLE workflows (
  id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids are never reused
  name TEXT NOT NULL,
  description TEXT,
  version TEXT NOT NULL,
  author TEXT,
  definition TEXT NOT NULL,              -- compact JSON object, key order kept
  datetime_created TEXT NOT NULL,
  datetime_updated TEXT
);
CREATE INDEX workflows_name_version ON workflows (name, version);
CREATE INDEX workflows_author ON workflows (author);
)sql"},
    {"0002-create-results", R"sql(
CREATE TABLE results (
  record_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  mtime_ns INTEGER NOT NULL,             -- with size and inode: is this row still the file's?
  inode INTEGER NOT NULL,
  datetime_stored TEXT NOT NULL,
  PRIMARY KEY (record_id, name)
) WITHOUT ROWID;
)sql"},
    {"0003-create-jobs", R"sql(
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,  -- ids are never reused
  topic TEXT NOT NULL,
  record_id INTEGER NOT NULL,
  input TEXT NOT NULL,
  output TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  deadline_seconds INTEGER NOT NULL,
  datetime_created TEXT NOT NULL,
  datetime_started TEXT,
  datetime_finished TEXT,
  retry_at TEXT,                         -- times as naive ISO-8601 UTC: they sort as text
  message TEXT,
  worker TEXT,
  lease_expires TEXT,
  delivery TEXT NOT NULL CHECK (delivery IN ('local', 'pending', 'delivered', 'failed')),
  log_size INTEGER NOT NULL DEFAULT 0,
  message_key TEXT                       -- the Kafka message that started it: topic/partition/offset
);
CREATE INDEX jobs_status ON jobs (status, id);
CREATE INDEX jobs_message ON jobs (message_key) WHERE message_key IS NOT NULL;
CREATE INDEX jobs_record ON jobs (record_id);
CREATE TABLE job_logs (
  job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  offset INTEGER NOT NULL,
  bytes BLOB NOT NULL,
  PRIMARY KEY (job_id, offset)
) WITHOUT ROWID;
)sql"},
};

constexpr int k_schema_version = static_cast<int>(sizeof(k_migrations) / sizeof(k_migrations[0]));

}  // namespace

int schema_version(sqlite::Database& db) {
  sqlite::Statement st(db, "PRAGMA user_version");
  return st.step() ? static_cast<int>(st.get_int(0)) : 0;
}

int current_schema_version() { return k_schema_version; }

void migrate(sqlite::Database& db) {
  if (schema_version(db) >= k_schema_version) return;
  sqlite::Transaction tx(db);
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)");
  for (const auto& m : k_migrations) {
    sqlite::Statement check(db, "SELECT 1 FROM schema_migrations WHERE name = ?");
    check.bind(1, std::string_view(m.name));
    if (check.step()) continue;  // another process applied it while we waited for the lock
    db.exec(m.sql);
    sqlite::Statement mark(db, "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)");
    mark.bind(1, std::string_view(m.name)).bind(2, now_iso_utc()).run();
  }
  db.exec("PRAGMA user_version = " + std::to_string(k_schema_version));
  tx.commit();
}

}  // namespace wfctl::local
