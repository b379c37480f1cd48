#pragma once
// The jobs table, private to the local store: shared by its job queue and by the result
// writer, which records an upload's job in the same transaction as the file's row.
#include <wfctl/model/job.hpp>
#include <wfctl/store/local/sqlite.hpp>

namespace wfctl::local {

/// Inserts a queued job (spec checked first: Error(invalid_input)); returns it with its id.
Job insert_job(sqlite::Database& db, const JobSpec& spec);

}  // namespace wfctl::local
