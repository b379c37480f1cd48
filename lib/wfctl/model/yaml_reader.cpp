// YAML through yaml-cpp into ordered values. yaml-cpp resolves an alias to the very node it
// names, so `&x {self: *x}` is a cycle and a few hundred bytes of aliases of aliases a graph
// whose expansion would not fit in memory: both are stopped here, while converting, by the
// ancestor check and the DocumentBudget.
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fmt/format.h>
#include <unordered_set>
#include <wfctl/error.hpp>
#include <wfctl/model/json_reader.hpp>
#include <wfctl/model/yaml_scalar.hpp>
#include <wfctl/util/signals.hpp>
#include <wfctl/util/utf8.hpp>

namespace wfctl {

namespace {

const char* const k_meta_keys[] = {"name", "version", "description", "author"};

bool is_meta_key(const std::string& key) {
  return std::find(std::begin(k_meta_keys), std::end(k_meta_keys), key) != std::end(k_meta_keys);
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    std::size_t n = utf8_sequence(s, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

class Converter {
 public:
  Converter(const std::string& source, DocumentBudget& budget) : m_source(source), m_budget(budget) {}

  Json convert(const YAML::Node& node, bool top_level) {
    // A cycle repeats its nodes down the path: looking at every 64th level finds it (or the
    // depth limit does) without paying for the look at every node.
    if (!m_ancestors.empty() && m_ancestors.size() % 64 == 0) {
      for (const auto& ancestor : m_ancestors)
        if (ancestor.is(node)) fail(node, "an alias refers to a node that contains it (a cycle)", {});
    }
    if (m_ancestors.size() >= static_cast<std::size_t>(DocumentLimits::k_max_depth))
      fail(node, fmt::format("nested more than {} levels deep", DocumentLimits::k_max_depth), {});
    if ((++m_seen & 0xfff) == 0) throw_if_interrupted();
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        m_budget.add_value();
        return nullptr;
      case YAML::NodeType::Scalar:
        return scalar(node, node.Scalar(), false);
      case YAML::NodeType::Sequence: {
        m_budget.add_value();
        Json arr = Json::array();
        m_ancestors.push_back(node);
        std::size_t i = 0;
        for (const auto& item : node) {
          m_path.push_index(i++);
          arr.push_back(convert(item, false));
          m_path.pop();
        }
        m_ancestors.pop_back();
        return arr;
      }
      case YAML::NodeType::Map: {
        m_budget.add_value();
        Json obj = Json::object();
        auto& members = static_cast<Json::object_t::Container&>(obj.get_ref<Json::object_t&>());
        std::unordered_set<std::string> keys;
        m_ancestors.push_back(node);
        for (const auto& kv : node) {
          if (!kv.first.IsScalar()) fail(kv.first, "mapping keys must be scalars", {});
          std::string key = kv.first.Scalar();
          m_path.push_key(key);
          if (!valid_utf8(key)) fail(kv.first, "the key is not valid UTF-8", {});
          if (!keys.insert(key).second)
            fail(kv.first, fmt::format("duplicate key '{}'", key), "each key may appear once in a mapping");
          m_budget.add_value(key.size());
          Json value;
          if (top_level && is_meta_key(key) && kv.second.IsScalar() && kv.second.Tag() != "!") {
            // name: 1.10 stays "1.10": a version is text, whatever it looks like.
            value = scalar(kv.second, kv.second.Scalar(), true);
          } else {
            value = convert(kv.second, false);
          }
          members.emplace_back(std::move(key), std::move(value));
          m_path.pop();
        }
        m_ancestors.pop_back();
        return obj;
      }
    }
    return nullptr;
  }

 private:
  Json scalar(const YAML::Node& node, const std::string& text, bool keep_text) {
    if (!valid_utf8(text)) fail(node, "the value is not valid UTF-8", {});
    m_budget.add_value(text.size());
    // Quoted scalars carry the non-specific tag "!" and are always strings.
    if (node.Tag() == "!") return text;
    try {
      Json resolved = resolve_plain_scalar(text);
      if (keep_text) return resolved.is_null() ? Json(nullptr) : Json(text);
      return resolved;
    } catch (const Error& e) {
      if (keep_text) return text;
      fail(node, e.what(), e.hint());
    }
  }

  [[noreturn]] void fail(const YAML::Node& at, const std::string& why, const std::string& hint) {
    auto mark = at.Mark();
    std::string where = m_budget.where().empty() ? m_source : m_budget.where();
    if (mark.line >= 0)
      throw Error(ErrorKind::invalid_input,
                  fmt::format("{}:{}:{}: {}: {}", m_source, mark.line + 1, mark.column + 1, m_path.str(), why), hint);
    throw Error(ErrorKind::invalid_input, fmt::format("{}: {}: {}", where, m_path.str(), why), hint);
  }

  const std::string& m_source;
  DocumentBudget& m_budget;
  std::vector<YAML::Node> m_ancestors;
  ValuePath m_path;
  std::size_t m_seen = 0;
};

}  // namespace

std::vector<ReadValue> read_yaml(std::string_view text, const std::string& source, DocumentBudget& budget) {
  std::vector<YAML::Node> nodes;
  try {
    nodes = YAML::LoadAll(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp stops at its own depth limit, with the message "bad file".
    throw Error(ErrorKind::invalid_input,
                fmt::format("{}:{}:{}: invalid YAML: nested too deeply", source, e.mark.line + 1, e.mark.column + 1));
  } catch (const YAML::Exception& e) {
    throw Error(ErrorKind::invalid_input,
                fmt::format("{}:{}:{}: invalid YAML: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  std::vector<ReadValue> out;
  Converter converter(source, budget);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].IsNull() && nodes.size() > 1) continue;  // "---" separators with nothing between
    std::string where = nodes.size() > 1 ? fmt::format("{}: document {}", source, i + 1) : source;
    if (nodes[i].IsSequence()) {
      // A list of documents: what `list -o yaml` prints.
      std::size_t n = 0;
      for (const auto& item : nodes[i]) {
        std::string item_where = fmt::format("{}: item {}", where, ++n);
        budget.start_document(item_where);
        out.push_back({converter.convert(item, true), item_where});
      }
      continue;
    }
    budget.start_document(where);
    out.push_back({converter.convert(nodes[i], true), where});
  }
  return out;
}

}  // namespace wfctl
