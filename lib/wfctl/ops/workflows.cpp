#include <wfctl/ops/workflows.hpp>

#include <charconv>
#include <fmt/format.h>
#include <wfctl/error.hpp>
#include <wfctl/util/fs.hpp>
#include <unistd.h>

namespace wfctl {

std::string input_name(const std::string& path) { return path == "-" ? "<stdin>" : path; }

std::string read_input(const std::string& path) {
  UniqueFd file;
  int fd = STDIN_FILENO;
  if (path != "-") {
    file = open_for_reading(path);
    fd = file.get();
  }
  std::string text;
  char buf[65536];
  const std::string what = input_name(path);
  while (std::size_t n = read_some(fd, buf, sizeof buf, what)) text.append(buf, n);
  return text;
}

std::vector<WorkflowDraft> load_drafts(const std::string& path, const MetaOverrides& overrides) {
  auto docs = parse_documents(read_input(path), input_name(path));
  std::vector<WorkflowDraft> drafts;
  drafts.reserve(docs.size());
  for (const auto& d : docs) drafts.push_back(draft_from_document(d, overrides));
  return drafts;
}

std::int64_t parse_id(const std::string& text, const char* what) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range)
    throw Error(ErrorKind::usage, fmt::format("invalid {} '{}': out of range", what, text));
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0)
    throw Error(ErrorKind::usage, fmt::format("invalid {} '{}': must be a positive integer", what, text));
  return v;
}

Workflow update_workflow(Store& store, WorkflowId id, const std::optional<std::string>& path,
                         const MetaOverrides& overrides, const WriteCall<Workflow>& call) {
  std::optional<Document> doc;
  if (path) {
    auto docs = parse_documents(read_input(*path), input_name(*path));
    if (docs.size() != 1)
      throw Error(ErrorKind::invalid_input,
                  fmt::format("{}: update takes one document, got {}", input_name(*path), docs.size()));
    doc = std::move(docs.front());
  }
  auto current = store.find_workflow(id);
  if (!current) throw Error(ErrorKind::not_found, fmt::format("workflow {} not found", id));
  auto update = update_from(*current, doc ? &*doc : nullptr, overrides);
  if (update.definition && nlohmann::json(*update.definition) != nlohmann::json(current->definition.json()))
    require(store, Capability::definition_update, "changing a workflow's definition");
  return store.update_workflow(id, update, call);
}

namespace {
void require_all_or_nothing(Store& store, std::size_t count, const char* what) {
  if (count > 1) require(store, Capability::multi_object_transactions, fmt::format("{} several workflows at once", what));
}
}  // namespace

std::vector<Workflow> create_workflows(Store& store, const std::vector<WorkflowDraft>& drafts,
                                       const WriteCall<std::vector<Workflow>>& call) {
  require_all_or_nothing(store, drafts.size(), "creating");
  return store.create_workflows(drafts, call);
}

std::vector<ApplyOutcome> apply_workflows(Store& store, const std::vector<WorkflowDraft>& drafts,
                                          const WriteCall<std::vector<ApplyOutcome>>& call) {
  require_all_or_nothing(store, drafts.size(), "applying");
  return store.apply_workflows(drafts, call);
}

std::vector<WorkflowId> delete_workflows(Store& store, const std::vector<WorkflowId>& ids, bool ignore_not_found,
                                         const WriteCall<std::vector<WorkflowId>>& call) {
  require_all_or_nothing(store, ids.size(), "deleting");
  return store.delete_workflows(ids, ignore_not_found, call);
}

}  // namespace wfctl
