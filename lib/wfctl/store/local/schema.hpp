#pragma once
#include <wfctl/store/local/sqlite.hpp>

namespace wfctl::local {
/// Applies every named migration not yet applied, each inside one write transaction.
/// Cheap when the schema is current (one read of PRAGMA user_version).
void migrate(sqlite::Database& db);
/// The schema version of the database (PRAGMA user_version; 0 for a database with no schema).
int schema_version(sqlite::Database& db);
/// The schema version this wfctl writes.
int current_schema_version();
}  // namespace wfctl::local
