#include <wfctl/error.hpp>
#include <wfctl/model/workflow.hpp>
#include <wfctl/model/json_reader.hpp>

#include <fmt/format.h>
#include <map>
#include <type_traits>

namespace wfctl {

namespace {
Json optional_text(const std::optional<std::string>& s) { return s ? Json(*s) : Json(nullptr); }
}  // namespace

Json to_json(const Workflow& w, bool with_definition) {
  Json j = Json::object();
  for_each_workflow_out_member(w, with_definition, [&j](const char* key, const auto& value) {
    using T = std::decay_t<decltype(value)>;
    if constexpr (std::is_same_v<T, Definition>)
      j[key] = value.json();
    else if constexpr (std::is_same_v<T, std::optional<std::string>>)
      j[key] = optional_text(value);
    else
      j[key] = value;
  });
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
