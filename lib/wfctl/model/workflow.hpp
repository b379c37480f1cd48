#pragma once
// The workflow model: exactly the reference's WorkflowOut / WorkflowMetaOut / BaseWorkflow.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace wfctl {

using Json = nlohmann::ordered_json;
using WorkflowId = std::int64_t;

/// The four meta fields every workflow carries (the reference's BaseWorkflow).
struct WorkflowFields {
  std::string name;
  std::optional<std::string> description;
  std::string version;
  std::optional<std::string> author;
  bool operator==(const WorkflowFields&) const = default;
};

/// What create and apply take: meta fields plus a definition that is a JSON object.
struct WorkflowDraft {
  WorkflowFields fields;
  Json definition = Json::object();
};

/// What update takes: the reference's PUT replaces all four meta fields; wfctl may also
/// replace the definition when one is given.
struct WorkflowUpdate {
  WorkflowFields fields;
  std::optional<Json> definition;
};

/// A stored workflow. `definition` is null when listed with meta only.
struct Workflow {
  WorkflowId id = 0;
  WorkflowFields fields;
  std::string datetime_created;                  // naive ISO-8601 UTC, microseconds
  std::optional<std::string> datetime_updated;   // null until the first update
  Json definition;
  /// The definition as compact JSON text, set instead of `definition` when a store listed it
  /// unparsed (ListQuery::raw_definitions): printing 100 000 of them then costs no parsing.
  std::string raw_definition;
};

/// The reference's WorkflowOut (or WorkflowMetaOut when `with_definition` is false), in its
/// key order: name, description, version, author, id, datetime_created, datetime_updated,
/// definition (parsed from raw_definition when only that is set).
Json to_json(const Workflow& w, bool with_definition = true);

/// Throws Error(conflict) naming both positions when two drafts have the same (name,
/// version): apply keys workflows by that pair, so one input must not name one twice.
void check_unique_keys(const std::vector<WorkflowDraft>& drafts);

/// Parses a WorkflowOut object (as served by the REST contract); throws Error(invalid_input).
Workflow workflow_from_json(const Json& j);

}  // namespace wfctl
