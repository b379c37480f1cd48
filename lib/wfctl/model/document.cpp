#include <wfctl/model/document.hpp>

#include <algorithm>
#include <fmt/format.h>
#include <wfctl/error.hpp>
#include <wfctl/model/json_reader.hpp>
#include <wfctl/util/utf8.hpp>

namespace wfctl {

namespace {

const char* const k_meta_keys[] = {"name", "version", "description", "author"};

bool is_meta_key(const std::string& key) {
  return std::find(std::begin(k_meta_keys), std::end(k_meta_keys), key) != std::end(k_meta_keys);
}

// The problems of one document, gathered in field order (a server answers all of them at
// once, as the reference's 422 does); the message of the thrown error describes the first.
class Problems {
 public:
  explicit Problems(std::string where) : m_where(std::move(where)) {}
  void add(const std::string& field, std::string msg, std::string type, const std::string& text = {}) {
    auto line = fmt::format("{}: {}: {}", m_where, field, text.empty() ? msg : text);
    m_items.push_back(ErrorItem{{std::string("body"), field}, std::move(msg), std::move(type), std::move(line)});
  }
  // One line for a person: "wf.yaml: name: field required; version: field required".
  void throw_if_any() const {
    if (m_items.empty()) return;
    std::string line = m_items.front().text;
    for (std::size_t i = 1; i < m_items.size(); ++i) line += "; " + m_items[i].text.substr(m_where.size() + 2);
    throw Error(ErrorKind::invalid_input, line, {}, m_items);
  }

 private:
  std::string m_where;
  std::vector<ErrorItem> m_items;
};

std::optional<std::string> coerce_string(const Json& value, const std::string& field, Problems& p) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return value.dump();  // pydantic coerces 2 to "2"
  p.add(field, "str type expected", "type_error.str", "must be a string, got " + json_type_phrase(value));
  return std::nullopt;
}

std::optional<std::string> optional_string(const Json& obj, const char* field, Problems& p) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  return coerce_string(*it, field, p);
}

std::string required_string(const Json& obj, const char* field, Problems& p) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) {
    p.add(field, "field required", "value_error.missing");
    return {};
  }
  return coerce_string(*it, field, p).value_or(std::string());
}

void check_definition(const Json& def, Problems& p) {
  if (def.is_null()) p.add("definition", "none is not an allowed value", "type_error.none.not_allowed", "must be a JSON object, got null");
  else if (!def.is_object())
    p.add("definition", "value is not a valid dict", "type_error.dict", "must be a JSON object, got " + json_type_phrase(def));
}

bool is_full_document(const Json& doc) { return doc.is_object() && doc.contains("definition"); }

bool is_meta_only(const Json& doc) {
  if (!doc.is_object() || doc.empty()) return false;
  for (const auto& [key, value] : doc.items()) {
    (void)value;
    if (!is_meta_key(key)) return false;
  }
  return true;
}

// A bad flag is named as the flag, not as the document it would have overridden.
void check_overrides(const MetaOverrides& o) {
  WorkflowFields probe{o.name.value_or("x"), std::nullopt, o.version.value_or("x"), o.author};
  try {
    check_meta_fields(probe, "");
  } catch (const Error& e) {
    std::string msg = e.what();  // ": name: must not be empty"
    throw Error(ErrorKind::usage, "--" + msg.substr(2));  // the CLI's overrides are its flags
  }
}

void apply_overrides(WorkflowFields& f, const MetaOverrides& o) {
  if (o.name) f.name = *o.name;
  if (o.version) f.version = *o.version;
  if (o.author) f.author = *o.author;
  if (o.description) f.description = *o.description;
}

}  // namespace

std::string json_type_phrase(const Json& j) {
  switch (j.type()) {
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::null: return "null";
    case Json::value_t::discarded: return "nothing";
    default: return "a number";
  }
}

std::vector<Document> parse_documents(std::string_view text, const std::string& source) {
  if (text.size() > DocumentLimits::k_max_input_bytes)
    throw Error(ErrorKind::invalid_input,
                fmt::format("{}: larger than {} MiB", source, DocumentLimits::k_max_input_bytes >> 20));
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos)
    throw Error(ErrorKind::invalid_input, source + ": empty input: expected a JSON or YAML document");
  DocumentBudget budget(source);
  auto values = (text[first] == '{' || text[first] == '[') ? read_json(text, source, budget)
                                                           : read_yaml(text, source, budget);
  std::vector<Document> docs;
  docs.reserve(values.size());
  for (auto& v : values) docs.push_back(Document{std::move(v.value), std::move(v.where)});
  // An empty list is no document, which is fine (`list -o json` of an empty store reads back);
  // an input with neither is a mistake.
  if (docs.empty() && !budget.saw_list_of_documents())
    throw Error(ErrorKind::invalid_input, source + ": no document found");
  return docs;
}

namespace {

// The four meta fields of a full or meta-only document, in field order; name and version are
// required unless overridden (the overrides themselves are applied later).
WorkflowFields meta_fields(const Json& v, const MetaOverrides& overrides, Problems& p) {
  auto pick = [&](const char* field, const std::optional<std::string>& o) {
    return o ? *o : required_string(v, field, p);
  };
  WorkflowFields f;
  f.name = pick("name", overrides.name);
  f.description = optional_string(v, "description", p);
  f.version = pick("version", overrides.version);
  f.author = optional_string(v, "author", p);
  return f;
}

void check_meta_fields(const WorkflowFields& f, Problems& p) {
  // C0 and C1 controls and bytes that are not UTF-8 would reach terminals and HTTP headers.
  const char* const one_line = "must be one line of UTF-8 without control characters";
  auto check = [&](const std::string& value, const char* field) {
    if (value.empty()) p.add(field, "must not be empty", "value_error.any_str.min_length");
    else if (has_control_or_bad_utf8(value)) p.add(field, one_line, "value_error.str.control");
  };
  check(f.name, "name");
  check(f.version, "version");
  if (f.author && has_control_or_bad_utf8(*f.author)) p.add("author", one_line, "value_error.str.control");
}

}  // namespace

void check_meta_fields(const WorkflowFields& f, const std::string& where) {
  Problems p(where);
  check_meta_fields(f, p);
  p.throw_if_any();
}

WorkflowDraft draft_from_document(const Document& doc, const MetaOverrides& overrides) {
  check_overrides(overrides);
  const Json& v = doc.value;
  Problems p(doc.where);
  WorkflowDraft draft;
  if (is_full_document(v)) {
    draft.fields = meta_fields(v, overrides, p);
    check_definition(v["definition"], p);
    if (v["definition"].is_object()) draft.definition = v["definition"];
  } else {
    if (v.is_object() && v.contains("id") && v.contains("datetime_created"))
      throw Error(ErrorKind::invalid_input,
                  fmt::format("{}: definition: field required (this is a stored workflow without its definition)",
                              doc.where),
                  "export with the definitions: 'wfctl list -o yaml' or 'wfctl get ID -o yaml'",
                  {ErrorItem{{std::string("body"), std::string("definition")}, "field required", "value_error.missing", {}}});
    check_definition(v, p);
    p.throw_if_any();
    draft.definition = v;
    // A bare definition may name itself (MONAI Deploy workflows carry name/version/description).
    auto own = [&](const char* field) -> std::optional<std::string> {
      auto it = v.find(field);
      if (it != v.end() && (it->is_string() || it->is_number())) return coerce_string(*it, field, p);
      return std::nullopt;
    };
    auto need = [&](const char* field, const std::optional<std::string>& o) {
      if (o) return *o;
      if (auto s = own(field)) return *s;
      p.add(field, "field required", "value_error.missing");
      return std::string();
    };
    draft.fields.name = need("name", overrides.name);
    draft.fields.version = need("version", overrides.version);
    draft.fields.description = own("description");
  }
  p.throw_if_any();
  apply_overrides(draft.fields, overrides);
  check_meta_fields(draft.fields, p);
  p.throw_if_any();
  return draft;
}

WorkflowDraft draft_from_workflow_in(const Json& body, const std::string& where) {
  Problems p(where);
  WorkflowDraft draft;
  draft.fields = meta_fields(body, {}, p);
  auto def = body.find("definition");
  if (def == body.end()) p.add("definition", "field required", "value_error.missing");
  else {
    check_definition(*def, p);
    if (def->is_object()) draft.definition = *def;
  }
  p.throw_if_any();
  check_meta_fields(draft.fields, p);
  p.throw_if_any();
  return draft;
}

WorkflowFields fields_from_base_workflow(const Json& body, const std::string& where) {
  Problems p(where);
  WorkflowFields fields = meta_fields(body, {}, p);
  p.throw_if_any();
  check_meta_fields(fields, p);
  p.throw_if_any();
  return fields;
}

WorkflowUpdate update_from(const Workflow& current, const Document* doc, const MetaOverrides& overrides) {
  if (!doc && overrides.empty()) throw Error(ErrorKind::usage, "nothing to update");
  check_overrides(overrides);
  WorkflowUpdate update{current.fields, std::nullopt};
  Problems p(doc ? doc->where : std::string("update"));
  if (doc) {
    const Json& v = doc->value;
    if (is_full_document(v) || is_meta_only(v)) {
      update.fields = meta_fields(v, overrides, p);
      if (is_full_document(v)) {
        check_definition(v["definition"], p);
        update.definition = v["definition"];
      }
    } else {
      check_definition(v, p);
      update.definition = v;
    }
  }
  p.throw_if_any();
  apply_overrides(update.fields, overrides);
  check_meta_fields(update.fields, p);
  p.throw_if_any();
  return update;
}

}  // namespace wfctl
