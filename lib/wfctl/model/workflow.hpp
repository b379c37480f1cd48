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

/// A workflow's definition as a WorkflowOut member: `raw` (compact JSON text) when a store
/// listed it unparsed, else `parsed`.
struct DefinitionOut {
  const Json& parsed;
  const std::string& raw;
};

/// Calls `member(key, value)` for each member of the reference's WorkflowOut (WorkflowMetaOut
/// without `with_definition`) in its key order: name, description, version, author, id,
/// datetime_created, datetime_updated, definition. The values are std::string,
/// std::optional<std::string> (null when absent), WorkflowId and DefinitionOut. The one place
/// that order is written: to_json and the streaming JSON list printer both follow it.
template <class Member>
void for_each_workflow_out_member(const Workflow& w, bool with_definition, Member&& member) {
  member("name", w.fields.name);
  member("description", w.fields.description);
  member("version", w.fields.version);
  member("author", w.fields.author);
  member("id", w.id);
  member("datetime_created", w.datetime_created);
  member("datetime_updated", w.datetime_updated);
  if (with_definition) member("definition", DefinitionOut{w.definition, w.raw_definition});
}

/// The reference's WorkflowOut (or WorkflowMetaOut when `with_definition` is false), members
/// as for_each_workflow_out_member gives them (the definition parsed from raw_definition when
/// only that is set).
Json to_json(const Workflow& w, bool with_definition = true);

/// Throws Error(conflict) naming both positions when two drafts have the same (name,
/// version): apply keys workflows by that pair, so one input must not name one twice.
void check_unique_keys(const std::vector<WorkflowDraft>& drafts);

}  // namespace wfctl
