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

std::string coerce_string(const Json& value, const std::string& field, const std::string& where) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return value.dump();  // pydantic coerces 2 to "2"
  throw Error(ErrorKind::invalid_input,
              fmt::format("{}: {}: must be a string, got {}", where, field, json_type_phrase(value)));
}

std::optional<std::string> optional_string(const Json& obj, const char* field, const std::string& where) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  return coerce_string(*it, field, where);
}

std::string required_string(const Json& obj, const char* field, const std::string& where) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null())
    throw Error(ErrorKind::invalid_input, fmt::format("{}: {}: field required", where, field),
                fmt::format("put {0} in the document or give --{0}", field));
  return coerce_string(*it, field, where);
}

void check_definition(const Json& def, const std::string& where) {
  if (!def.is_object())
    throw Error(ErrorKind::invalid_input,
                fmt::format("{}: definition: must be a JSON object, got {}", where, json_type_phrase(def)));
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
    throw Error(ErrorKind::usage, "--" + msg.substr(2));
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

void check_meta_fields(const WorkflowFields& f, const std::string& where) {
  // C0 and C1 controls and bytes that are not UTF-8 would reach terminals and HTTP headers.
  const auto has_control = [](const std::string& v) { return has_control_or_bad_utf8(v); };
  auto check = [&](const std::string& value, const char* field) {
    if (value.empty())
      throw Error(ErrorKind::invalid_input, fmt::format("{}: {}: must not be empty", where, field));
    if (has_control(value))
      throw Error(ErrorKind::invalid_input,
                  fmt::format("{}: {}: must be one line of UTF-8 without control characters", where, field));
  };
  check(f.name, "name");
  check(f.version, "version");
  if (f.author && has_control(*f.author))
    throw Error(ErrorKind::invalid_input,
                fmt::format("{}: author: must be one line of UTF-8 without control characters", where));
}

WorkflowDraft draft_from_document(const Document& doc, const MetaOverrides& overrides) {
  check_overrides(overrides);
  const Json& v = doc.value;
  WorkflowDraft draft;
  if (is_full_document(v)) {
    check_definition(v["definition"], doc.where);
    draft.definition = v["definition"];
    auto pick = [&](const char* field, const std::optional<std::string>& o) {
      return o ? *o : required_string(v, field, doc.where);
    };
    draft.fields.name = pick("name", overrides.name);
    draft.fields.version = pick("version", overrides.version);
    draft.fields.description = optional_string(v, "description", doc.where);
    draft.fields.author = optional_string(v, "author", doc.where);
  } else {
    if (v.is_object() && v.contains("id") && v.contains("datetime_created"))
      throw Error(ErrorKind::invalid_input,
                  fmt::format("{}: definition: field required (this is a stored workflow without its definition)",
                              doc.where),
                  "export with the definitions: 'wfctl list -o yaml' or 'wfctl get ID -o yaml'");
    check_definition(v, doc.where);
    draft.definition = v;
    // A bare definition may name itself (MONAI Deploy workflows carry name/version/description).
    auto own = [&](const char* field) -> std::optional<std::string> {
      auto it = v.find(field);
      if (it != v.end() && (it->is_string() || it->is_number())) return coerce_string(*it, field, doc.where);
      return std::nullopt;
    };
    auto need = [&](const char* field, const std::optional<std::string>& o) {
      if (o) return *o;
      if (auto s = own(field)) return *s;
      throw Error(ErrorKind::invalid_input, fmt::format("{}: {}: field required", doc.where, field),
                  fmt::format("the document is a bare definition: give --{}", field));
    };
    draft.fields.name = need("name", overrides.name);
    draft.fields.version = need("version", overrides.version);
    draft.fields.description = own("description");
  }
  apply_overrides(draft.fields, overrides);
  check_meta_fields(draft.fields, doc.where);
  return draft;
}

WorkflowUpdate update_from(const Workflow& current, const Document* doc, const MetaOverrides& overrides) {
  if (!doc && overrides.empty())
    throw Error(ErrorKind::usage, "nothing to update", "give -f FILE or one of --name, --version, --author, --description");
  check_overrides(overrides);
  WorkflowUpdate update{current.fields, std::nullopt};
  std::string where = doc ? doc->where : std::string("update");
  if (doc) {
    const Json& v = doc->value;
    if (is_full_document(v) || is_meta_only(v)) {
      auto pick = [&](const char* field, const std::optional<std::string>& o) {
        return o ? *o : required_string(v, field, where);
      };
      update.fields.name = pick("name", overrides.name);
      update.fields.version = pick("version", overrides.version);
      update.fields.description = optional_string(v, "description", where);
      update.fields.author = optional_string(v, "author", where);
      if (is_full_document(v)) {
        check_definition(v["definition"], where);
        update.definition = v["definition"];
      }
    } else {
      check_definition(v, where);
      update.definition = v;
    }
  }
  apply_overrides(update.fields, overrides);
  check_meta_fields(update.fields, where);
  return update;
}

}  // namespace wfctl
