#pragma once
// A file stored for a record in the data lake: records/{record_id}/{name}.
#include <cstdint>
#include <string>
#include <string_view>

#include <wfctl/model/workflow.hpp>

namespace wfctl {

using RecordId = std::int64_t;

/// One result file of a record; `sha256` is lower-case hex, empty when the backend keeps no
/// digests (printed as null).
struct ResultFile {
  RecordId record_id = 0;
  std::string name;
  std::uint64_t size = 0;
  std::string sha256;
  std::string datetime_stored;  // naive ISO-8601 UTC, microseconds
};

/// {"record_id", "name", "size", "sha256", "datetime_stored"} in that order.
Json to_json(const ResultFile& r);

/// The reference's result file name for a record: "record-{id}.dcm".
std::string default_result_name(RecordId id);

/// "records/{record}": where a record's files are below a store's root, and how messages
/// name them.
std::string record_path(RecordId record);

/// "records/{record}/{name}": where one result file is below a store's root, and how messages
/// name it. `name` goes in as given: escape it first where it may hold anything.
std::string record_path(RecordId record, std::string_view name);

}  // namespace wfctl
