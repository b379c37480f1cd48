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
    if constexpr (std::is_same_v<T, DefinitionOut>)
      j[key] = value.raw.empty() ? value.parsed : parse_stored_json(value.raw);
    else if constexpr (std::is_same_v<T, std::optional<std::string>>)
      j[key] = optional_text(value);
    else
      j[key] = value;
  });
  return j;
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
