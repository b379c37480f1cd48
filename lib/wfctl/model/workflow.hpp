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

/// What apply did with one document.
enum class ApplyAction { created, configured, unchanged };
const char* to_string(ApplyAction a);

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

/// A stored workflow's definition: JSON, held as parsed JSON or as the compact JSON text a
/// backend stored, and parsed on first use, so that printing a listing as JSON can copy the
/// text as it is. Null when listed with meta only. Like any value, one object must not be
/// read from two threads at once (the first read may parse).
class Definition {
 public:
  Definition() = default;
  Definition(Json json) : m_json(std::move(json)) {}  // NOLINT: any JSON value is a definition
  /// A definition from compact JSON text that a backend stored (and so validated) itself.
  static Definition from_text(std::string compact_json);

  /// The parsed value; throws Error(internal) when stored text does not parse.
  const Json& json() const;
  /// The compact JSON text a backend gave, or nullptr when the value was given as JSON.
  const std::string* text() const { return m_text.empty() ? nullptr : &m_text; }
  bool is_null() const { return m_text.empty() && m_json.is_null(); }

 private:
  mutable Json m_json;
  std::string m_text;
  mutable bool m_parsed = true;
};

/// A stored workflow. `definition` is null when listed with meta only.
struct Workflow {
  WorkflowId id = 0;
  WorkflowFields fields;
  std::string datetime_created;                  // naive ISO-8601 UTC, microseconds
  std::optional<std::string> datetime_updated;   // null until the first update
  Definition definition;
};

/// Calls `member(key, value)` for each member of the reference's WorkflowOut (WorkflowMetaOut
/// without `with_definition`) in its key order: name, description, version, author, id,
/// datetime_created, datetime_updated, definition. The values are std::string,
/// std::optional<std::string> (null when absent), WorkflowId and Definition. The one place
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
  if (with_definition) member("definition", w.definition);
}

/// The reference's WorkflowOut (or WorkflowMetaOut when `with_definition` is false), members
/// as for_each_workflow_out_member gives them.
Json to_json(const Workflow& w, bool with_definition = true);

/// What applying `draft` to `current` (the stored workflow of the same name and version)
/// does: unchanged when the meta fields and the definition are equal (key order is
/// presentation: a definition whose keys merely moved is unchanged), else configured.
ApplyAction apply_action(const Workflow& current, const WorkflowDraft& draft);

/// Throws Error(conflict) naming both positions when two drafts have the same (name,
/// version): apply keys workflows by that pair, so one input must not name one twice.
void check_unique_keys(const std::vector<WorkflowDraft>& drafts);

}  // namespace wfctl
