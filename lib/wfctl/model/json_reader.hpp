#pragma once
// JSON and YAML text into ordered values, in linear time and within DocumentLimits.
#include <string>
#include <string_view>
#include <vector>

#include <wfctl/model/document_limits.hpp>
#include <wfctl/model/workflow.hpp>

namespace wfctl {

/// One value read from an input, and where it came from ("wf.yaml: document 2", "wf.json: item 3").
struct ReadValue {
  Json value;
  std::string where;
};

/// Parses one JSON text. A top-level array is a list of documents: each element is returned
/// on its own, named "<source>: item N" (so what `list -o json` prints reads back). Keys keep
/// their order; a duplicate key, nesting deeper than DocumentLimits::k_max_depth, an integer
/// beyond 64 bits or a number beyond a double's range is refused, as is passing a limit.
/// Throws Error(invalid_input, "<source>:<line>:<column>: invalid JSON: <why>") for bad
/// syntax, Error(invalid_input, "<where>: <path>: <why>") for a bad value.
std::vector<ReadValue> read_json(std::string_view text, const std::string& source, DocumentBudget& budget);

/// Parses a YAML stream (several documents allowed; a top-level sequence is a list of
/// documents as in read_json). Plain scalars are typed as YAML 1.2's core schema does; at the
/// top level of a document, name/version/description/author stay the strings written. Alias
/// cycles, duplicate keys, invalid UTF-8, integers beyond 64 bits, nesting deeper than
/// DocumentLimits::k_max_depth and expansions past the limits are refused. Throws as read_json.
std::vector<ReadValue> read_yaml(std::string_view text, const std::string& source, DocumentBudget& budget);

/// Throws Error(invalid_input, "<source>:<line>:<column>: invalid YAML: <why>") unless
/// `text` is well-formed YAML (checked by libyaml, so that a syntax error gets its own words).
void check_yaml_syntax(std::string_view text, const std::string& source);

/// Parses JSON this program wrote itself (a stored definition) in linear time; throws
/// Error(internal) when it is not valid JSON.
Json parse_stored_json(std::string_view text);

/// "definition.steps[2].name": the path of a value, for messages.
class ValuePath {
 public:
  void push_key(std::string key) { m_parts.push_back({std::move(key), 0, true}); }
  void push_index(std::size_t i) { m_parts.push_back({{}, i, false}); }
  void pop() { m_parts.pop_back(); }
  std::size_t size() const { return m_parts.size(); }
  /// The path, or "(top level)" when empty; `skip` leading parts are left out.
  std::string str(std::size_t skip = 0) const;

 private:
  struct Part {
    std::string key;
    std::size_t index;
    bool is_key;
  };
  std::vector<Part> m_parts;
};

}  // namespace wfctl
