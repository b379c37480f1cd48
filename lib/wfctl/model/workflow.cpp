#include <wfctl/error.hpp>
#include <wfctl/model/workflow.hpp>
#include <wfctl/model/json_reader.hpp>

#include <fmt/format.h>
#include <map>
#include <type_traits>

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
  for_each_workflow_out_member(w, with_definition, [&j](const char* key, const auto& value) {
    using T = std::decay_t<decltype(value)>;
    if constexpr (std::is_same_v<T, DefinitionOut>)
      j[key] = value.raw.empty() ? value.parsed : parse_stored_json(value.raw);
    else if constexpr (std::is_same_v<T, std::optional<std::string>>)
      j[key] = optional_text(value);
    else
      j[key] = value;
  });
  return j;
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
