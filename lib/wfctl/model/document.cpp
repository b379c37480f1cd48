#include <wfctl/model/document.hpp>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <wfctl/error.hpp>
#include <wfctl/model/yaml_scalar.hpp>

namespace wfctl {

namespace {

const char* const k_meta_keys[] = {"name", "version", "description", "author"};
// Deeper than any real definition, shallow enough that recursive printing and freeing are safe.
constexpr int k_max_depth = 512;

bool is_meta_key(const std::string& key) {
  return std::find(std::begin(k_meta_keys), std::end(k_meta_keys), key) != std::end(k_meta_keys);
}

Json yaml_to_json(const YAML::Node& node, const std::string& source, bool top_level) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      // Quoted scalars carry the non-specific tag "!" and are always strings.
      if (node.Tag() == "!") return node.Scalar();
      return resolve_plain_scalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      Json arr = Json::array();
      for (const auto& item : node) arr.push_back(yaml_to_json(item, source, false));
      return arr;
    }
    case YAML::NodeType::Map: {
      Json obj = Json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar())
          throw Error(ErrorKind::invalid_input,
                      fmt::format("{}:{}:{}: mapping keys must be scalars", source,
                                  kv.first.Mark().line + 1, kv.first.Mark().column + 1));
        std::string key = kv.first.Scalar();
        Json value;
        if (top_level && is_meta_key(key) && kv.second.IsScalar() && kv.second.Tag() != "!") {
          Json resolved = resolve_plain_scalar(kv.second.Scalar());
          value = resolved.is_null() ? Json(nullptr) : Json(kv.second.Scalar());
        } else {
          value = yaml_to_json(kv.second, source, false);
        }
        obj[key] = std::move(value);
      }
      return obj;
    }
  }
  return nullptr;
}

std::pair<std::size_t, std::size_t> line_col(std::string_view text, std::size_t byte) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

std::vector<Document> parse_json(std::string_view text, const std::string& source) {
  try {
    // nlohmann parses without recursion but destroys and prints recursively: a document
    // nested 100 000 deep would overflow the stack, so refuse it while parsing.
    auto limit_depth = [&](int depth, nlohmann::json::parse_event_t, Json&) {
      if (depth > k_max_depth)
        throw Error(ErrorKind::invalid_input,
                    fmt::format("{}: invalid JSON: nested more than {} levels deep", source, k_max_depth));
      return true;
    };
    return {Document{Json::parse(text, limit_depth), source}};
  } catch (const nlohmann::json::parse_error& e) {
    auto [line, col] = line_col(text, e.byte == 0 ? 0 : e.byte - 1);
    std::string why = e.what();
    // nlohmann's message starts with "[json.exception.parse_error.101] parse error at line..";
    // keep only the part after the last ": " which names the problem.
    auto pos = why.rfind(": ");
    if (pos != std::string::npos) why = why.substr(pos + 2);
    throw Error(ErrorKind::invalid_input, fmt::format("{}:{}:{}: invalid JSON: {}", source, line, col, why));
  }
}

std::vector<Document> parse_yaml(std::string_view text, const std::string& source) {
  std::vector<YAML::Node> nodes;
  try {
    nodes = YAML::LoadAll(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp stops at its own depth limit, with the message "bad file".
    throw Error(ErrorKind::invalid_input,
                fmt::format("{}:{}:{}: invalid YAML: nested too deeply", source, e.mark.line + 1, e.mark.column + 1));
  } catch (const YAML::Exception& e) {
    throw Error(ErrorKind::invalid_input, fmt::format("{}:{}:{}: invalid YAML: {}", source,
                                                      e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  std::vector<Document> docs;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].IsNull() && nodes.size() > 1) continue;  // "---" separators with nothing between
    std::string where = nodes.size() > 1 ? fmt::format("{}: document {}", source, i + 1) : source;
    docs.push_back(Document{yaml_to_json(nodes[i], source, true), where});
  }
  return docs;
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
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos)
    throw Error(ErrorKind::invalid_input, source + ": empty input: expected a JSON or YAML document");
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  first = text.find_first_not_of(" \t\r\n");
  auto parsed = (text[first] == '{' || text[first] == '[') ? parse_json(text, source) : parse_yaml(text, source);
  // A list of documents (what `list -o json|yaml` prints) is as many documents.
  std::vector<Document> docs;
  for (auto& d : parsed) {
    if (!d.value.is_array()) {
      docs.push_back(std::move(d));
      continue;
    }
    for (std::size_t i = 0; i < d.value.size(); ++i)
      docs.push_back(Document{std::move(d.value[i]), fmt::format("{}: item {}", d.where, i + 1)});
  }
  if (docs.empty()) throw Error(ErrorKind::invalid_input, source + ": no document found");
  return docs;
}

void check_meta_fields(const WorkflowFields& f, const std::string& where) {
  auto has_control = [](const std::string& v) {
    return std::any_of(v.begin(), v.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
  };
  auto check = [&](const std::string& value, const char* field) {
    if (value.empty())
      throw Error(ErrorKind::invalid_input, fmt::format("{}: {}: must not be empty", where, field));
    if (has_control(value))
      throw Error(ErrorKind::invalid_input,
                  fmt::format("{}: {}: must be one line without control characters", where, field));
  };
  check(f.name, "name");
  check(f.version, "version");
  if (f.author && has_control(*f.author))
    throw Error(ErrorKind::invalid_input,
                fmt::format("{}: author: must be one line without control characters", where));
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
