#include <wfctl/error.hpp>
#include <wfctl/model/workflow.hpp>
#include <wfctl/model/json_reader.hpp>

#include <map>
#include <fmt/format.h>

namespace wfctl {

namespace {
Json optional_text(const std::optional<std::string>& s) { return s ? Json(*s) : Json(nullptr); }

std::optional<std::string> optional_field(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw Error(ErrorKind::invalid_input, std::string(key) + ": must be a string or null");
  return it->get<std::string>();
}

std::string required_field(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string())
    throw Error(ErrorKind::invalid_input, std::string(key) + ": must be a string");
  return it->get<std::string>();
}
}  // namespace

Json to_json(const Workflow& w, bool with_definition) {
  Json j = Json::object();
  j["name"] = w.fields.name;
  j["description"] = optional_text(w.fields.description);
  j["version"] = w.fields.version;
  j["author"] = optional_text(w.fields.author);
  j["id"] = w.id;
  j["datetime_created"] = w.datetime_created;
  j["datetime_updated"] = optional_text(w.datetime_updated);
  if (with_definition) j["definition"] = w.definition.json();
  return j;
}

Definition Definition::from_text(std::string compact_json) {
  Definition d;
  d.m_text = std::move(compact_json);
  d.m_parsed = false;
  return d;
}

const Json& Definition::json() const {
  if (!m_parsed) {
    m_json = parse_stored_json(m_text);
    m_parsed = true;
  }
  return m_json;
}

const char* to_string(ApplyAction a) {
  switch (a) {
    case ApplyAction::created: return "created";
    case ApplyAction::configured: return "configured";
    case ApplyAction::unchanged: return "unchanged";
  }
  return "unchanged";
}

ApplyAction apply_action(const Workflow& current, const WorkflowDraft& draft) {
  // ordered_json compares in key order; plain json compares as sets of keys.
  bool same = current.fields == draft.fields &&
              nlohmann::json(current.definition.json()) == nlohmann::json(draft.definition);
  return same ? ApplyAction::unchanged : ApplyAction::configured;
}

Workflow workflow_from_json(const Json& j) {
  if (!j.is_object()) throw Error(ErrorKind::invalid_input, "workflow: must be a JSON object");
  Workflow w;
  w.fields.name = required_field(j, "name");
  w.fields.description = optional_field(j, "description");
  w.fields.version = required_field(j, "version");
  w.fields.author = optional_field(j, "author");
  auto id = j.find("id");
  if (id == j.end() || !id->is_number_integer()) throw Error(ErrorKind::invalid_input, "id: must be an integer");
  w.id = id->get<WorkflowId>();
  w.datetime_created = required_field(j, "datetime_created");
  w.datetime_updated = optional_field(j, "datetime_updated");
  auto def = j.find("definition");
  w.definition = def == j.end() ? Json(nullptr) : *def;
  return w;
}

void check_unique_keys(const std::vector<WorkflowDraft>& drafts) {
  std::map<std::pair<std::string, std::string>, std::size_t> seen;
  for (std::size_t i = 0; i < drafts.size(); ++i) {
    auto [it, inserted] = seen.emplace(std::make_pair(drafts[i].fields.name, drafts[i].fields.version), i);
    if (!inserted)
      throw Error(ErrorKind::conflict,
                  fmt::format("documents {} and {} both name workflow '{}' version '{}'", it->second + 1, i + 1,
                              drafts[i].fields.name, drafts[i].fields.version),
                  "apply keys workflows by (name, version); use create to store both");
  }
}

}  // namespace wfctl
