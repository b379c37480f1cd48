#pragma once
// Workflow documents as users write them: JSON or YAML (detected by content), one or more
// documents per input, each either a full workflow document or a bare definition.
#include <string>
#include <string_view>
#include <vector>

#include <wfctl/model/workflow.hpp>

namespace wfctl {

/// One parsed document and where it came from ("wf.yaml", "wf.yaml: document 2").
struct Document {
  Json value;
  std::string where;
};

/// Parses `text` as JSON when it starts with '{' or '[', else as a YAML stream (several
/// documents allowed). A top-level array or sequence is a list of documents (each named
/// "<source>: item N"), so what `list -o json|yaml` prints reads back; an empty list gives no
/// documents (not an error). In YAML the top-level name/version/description/author scalars are
/// kept as written ("1.10" stays "1.10"). Throws Error(invalid_input,
/// "<source>:<line>:<column>: <why>") for malformed input or an empty stream.
std::vector<Document> parse_documents(std::string_view text, const std::string& source);

/// Meta fields given on the command line; each one set wins over the document.
struct MetaOverrides {
  std::optional<std::string> name, version, author, description;
  bool empty() const { return !name && !version && !author && !description; }
};

/// A draft for create/apply. A document with a "definition" key is a full workflow document
/// (unknown keys ignored, numbers coerced to strings for the meta fields as pydantic does);
/// any other object is a bare definition whose meta fields come from the overrides, falling
/// back to its own top-level name/version/description strings (MONAI Deploy style).
/// Throws Error(invalid_input, "<where>: <field>: <problem>").
WorkflowDraft draft_from_document(const Document& doc, const MetaOverrides& overrides);

/// The update of `current` described by an optional document and overrides:
/// a full document replaces all four meta fields like the reference's PUT (an omitted
/// optional field becomes null) and the definition; a document holding only meta keys
/// (name, version, description, author) replaces the meta fields and keeps the definition;
/// any other object replaces only the definition. Overrides then replace single fields.
/// Throws Error(invalid_input) as draft_from_document, Error(usage) when there is nothing
/// to change.
WorkflowUpdate update_from(const Workflow& current, const Document* doc, const MetaOverrides& overrides);

/// The REST contract's POST body (WorkflowIn): the meta fields and a required "definition"
/// that must be an object, strictly (no bare definitions, no overrides). Throws
/// Error(invalid_input) carrying every problem as an item, in field order, with loc
/// ["body", FIELD] and the reference's msg/type ("field required", "value_error.missing").
WorkflowDraft draft_from_workflow_in(const Json& body, const std::string& where);

/// The REST contract's PUT body (BaseWorkflow): all four meta fields, an omitted optional one
/// null. Throws Error(invalid_input) as draft_from_workflow_in.
WorkflowFields fields_from_base_workflow(const Json& body, const std::string& where);

/// Validates the meta fields: name and version non-empty, and name, version and author one
/// line without control characters (a description may span lines). Throws Error(invalid_input).
void check_meta_fields(const WorkflowFields& fields, const std::string& where);

/// The JSON type name of a value as users read it: "an object", "an array", "null", ...
std::string json_type_phrase(const Json& j);

}  // namespace wfctl
