#pragma once
// What the workflow commands do beyond the Store: read inputs, turn documents into drafts,
// parse ids. Shared by the CLI and (later) the server.
#include <string>
#include <vector>

#include <wfctl/model/document.hpp>
#include <wfctl/store/store.hpp>

namespace wfctl {

/// The whole content of a file, or of stdin for "-"; throws Error of the errno table's kind
/// when it cannot be read, Error(interrupted) on Ctrl-C while waiting for stdin.
std::string read_input(const std::string& path);
/// How an input is named in messages: the path, or "<stdin>".
std::string input_name(const std::string& path);

/// Drafts from every document of an input file (or "-"). Throws Error(invalid_input).
std::vector<WorkflowDraft> load_drafts(const std::string& path, const MetaOverrides& overrides);

/// Parses a workflow or record id: a positive 64-bit integer. Throws Error(usage,
/// "invalid <what> 'abc': must be a positive integer").
std::int64_t parse_id(const std::string& text, const char* what);

/// Replaces a workflow's meta fields (and definition) from an optional input file and
/// overrides. Throws Error(not_found) when the id does not exist, Error(not_supported) when
/// the definition would change on a store without definition_update.
Workflow update_workflow(Store& store, WorkflowId id, const std::optional<std::string>& path,
                         const MetaOverrides& overrides, const WriteCall<Workflow>& call = {});

/// Store::create_workflows, refused with Error(not_supported) for several drafts on a store
/// without multi_object_transactions (they could not be all or nothing).
std::vector<Workflow> create_workflows(Store& store, const std::vector<WorkflowDraft>& drafts,
                                       const WriteCall<std::vector<Workflow>>& call = {});
/// Store::apply_workflows (which refuses two drafts with one key), with the same refusal as
/// create_workflows.
std::vector<ApplyOutcome> apply_workflows(Store& store, const std::vector<WorkflowDraft>& drafts,
                                          const WriteCall<std::vector<ApplyOutcome>>& call = {});
/// Store::delete_workflows, with the same refusal for several ids.
std::vector<WorkflowId> delete_workflows(Store& store, const std::vector<WorkflowId>& ids, bool ignore_not_found,
                                         const WriteCall<std::vector<WorkflowId>>& call = {});

}  // namespace wfctl
