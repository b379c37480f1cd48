#pragma once
#include <wfctl/store/local/sqlite.hpp>

namespace wfctl::local {
/// Applies every named migration not yet applied, each inside one write transaction.
/// Cheap when the schema is current (one read of PRAGMA user_version).
void migrate(sqlite::Database& db);
}  // namespace wfctl::local
