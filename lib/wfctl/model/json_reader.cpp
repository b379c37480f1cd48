// JSON through nlohmann's SAX interface: its DOM parser inserts every key of an ordered_json
// object with a linear search (100 000 keys took 15 s), and takes the last of duplicate keys
// silently. Here members are appended in order while a hash set per object finds duplicates.
#include <wfctl/model/json_reader.hpp>

#include <cmath>
#include <fmt/format.h>
#include <unordered_set>
#include <wfctl/error.hpp>
#include <wfctl/util/interrupt.hpp>

namespace wfctl {

std::string ValuePath::str(std::size_t skip) const {
  // Deep paths show their first and last parts: enough to find the place.
  constexpr std::size_t k_head = 4, k_tail = 3;
  std::string out;
  const std::size_t n = m_parts.size() > skip ? m_parts.size() - skip : 0;
  for (std::size_t i = skip; i < m_parts.size(); ++i) {
    const std::size_t k = i - skip;
    if (n > k_head + k_tail + 1 && k == k_head) {
      out += fmt::format(".(... {} levels ...)", n - k_head - k_tail);
      i = m_parts.size() - k_tail - 1;
      continue;
    }
    const Part& p = m_parts[i];
    if (!p.is_key) out += fmt::format("[{}]", p.index);
    else out += (out.empty() ? "" : ".") + p.key;
  }
  return out.empty() ? "(top level)" : out;
}

namespace {

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

class Builder final : public nlohmann::json_sax<Json> {
 public:
  Builder(std::string_view text, const std::string& source, DocumentBudget& budget)
      : m_text(text), m_source(source), m_budget(budget) {
    m_budget.start_document(source);
  }

  std::vector<ReadValue> take() {
    std::vector<ReadValue> out;
    if (m_list) {
      auto& items = m_root.get_ref<Json::array_t&>();
      out.reserve(items.size());
      for (std::size_t i = 0; i < items.size(); ++i)
        out.push_back({std::move(items[i]), fmt::format("{}: item {}", m_source, i + 1)});
    } else {
      out.push_back({std::move(m_root), m_source});
    }
    return out;
  }

  bool null() override { return put(nullptr); }
  bool boolean(bool v) override { return put(v); }
  bool number_integer(number_integer_t v) override { return put(v); }
  bool number_unsigned(number_unsigned_t v) override { return put(v); }
  bool number_float(number_float_t v, const string_t& text) override {
    Json* target = slot();
    // nlohmann hands integers that fit no 64-bit type over as doubles, rounded: refuse them.
    if (text.find_first_of(".eE") == std::string::npos)
      fail(fmt::format("integer {} does not fit in 64 bits", text), "quote it to keep it as text");
    const auto mantissa = text.substr(0, text.find_first_of("eE"));
    const bool nonzero = mantissa.find_first_of("123456789") != std::string::npos;
    if (!std::isfinite(v) || (v == 0 && nonzero))  // too large, or so small it became 0
      fail(fmt::format("number {} is out of range", text), "quote it to keep it as text");
    m_budget.add_value();
    *target = v;
    done_with_slot();
    return true;
  }
  bool string(string_t& v) override {
    std::size_t n = v.size();
    return put(std::move(v), n);
  }
  bool binary(binary_t&) override { return put(nullptr); }  // JSON text has none

  bool start_object(std::size_t) override { return open(Json::object()); }
  bool start_array(std::size_t) override { return open(Json::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& k) override {
    Frame& f = m_stack.back();
    if (!f.keys.insert(k).second) {
      m_path.push_key(k);
      fail(fmt::format("duplicate key '{}'", k), "each key may appear once in an object");
    }
    m_budget.add_value(k.size());
    f.key = std::move(k);
    return true;
  }

  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception& e) override {
    auto [line, col] = line_col(m_text, position == 0 ? 0 : position - 1);
    // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ...;
    // last read: ..." names the problem after its last ": ".
    std::string why = e.what();
    if (auto pos = why.rfind(": "); pos != std::string::npos) why = why.substr(pos + 2);
    if (e.id == 406) why = fmt::format("number {} is out of range", last_token);  // 1e999
    throw Error(ErrorKind::invalid_input, fmt::format("{}:{}:{}: invalid JSON: {}", m_source, line, col, why));
  }

 private:
  struct Frame {
    Json* container;
    std::string key;  // of the member being read (objects)
    std::size_t next_index = 0;  // arrays
    std::unordered_set<std::string> keys;
  };

  // Where the next value goes: the root, the member named by the last key, or the next
  // element. Parents do not grow while a child is built, so the pointer stays valid.
  Json* slot() {
    if (m_stack.empty()) return &m_root;
    Frame& f = m_stack.back();
    if (f.container->is_object()) {
      auto& members = static_cast<Json::object_t::Container&>(f.container->get_ref<Json::object_t&>());
      m_path.push_key(f.key);
      members.emplace_back(std::move(f.key), nullptr);
      return &members.back().second;
    }
    // An element of the top-level list of documents starts a document of its own.
    if (m_list && m_stack.size() == 1) m_budget.start_document(fmt::format("{}: item {}", m_source, f.next_index + 1));
    else m_path.push_index(f.next_index);
    ++f.next_index;
    auto& elements = f.container->get_ref<Json::array_t&>();
    elements.emplace_back();
    return &elements.back();
  }

  // After a member or element is complete, its name leaves the path.
  void done_with_slot() {
    if (m_stack.empty()) return;
    if (m_list && m_stack.size() == 1) return;
    m_path.pop();
  }

  template <typename V>
  bool put(V&& v, std::size_t text = 0) {
    Json* target = slot();
    m_budget.add_value(text);
    *target = std::forward<V>(v);
    done_with_slot();
    return true;
  }

  bool open(Json empty) {
    const bool root = m_stack.empty();
    Json* target = slot();
    m_budget.add_value();
    *target = std::move(empty);
    if (root && target->is_array()) {
      m_list = true;
      m_budget.saw_list();
    }
    if (m_stack.size() >= static_cast<std::size_t>(DocumentLimits::k_max_depth) + (m_list ? 1 : 0))
      fail(fmt::format("nested more than {} levels deep", DocumentLimits::k_max_depth), {});
    m_stack.push_back(Frame{target, {}, 0, {}});
    if ((++m_opened & 0xfff) == 0) throw_if_interrupted();
    return true;
  }

  bool close() {
    m_stack.pop_back();
    done_with_slot();
    return true;
  }

  [[noreturn]] void fail(const std::string& why, const std::string& hint) {
    const std::string& where = m_budget.where().empty() ? m_source : m_budget.where();
    throw Error(ErrorKind::invalid_input, fmt::format("{}: {}: {}", where, m_path.str(), why), hint);
  }

  std::string_view m_text;
  std::string m_source;
  DocumentBudget& m_budget;
  Json m_root;
  bool m_list = false;  // the root is an array: a list of documents
  std::vector<Frame> m_stack;
  ValuePath m_path;
  std::size_t m_opened = 0;
};

}  // namespace

std::vector<ReadValue> read_json(std::string_view text, const std::string& source, DocumentBudget& budget) {
  Builder builder(text, source, budget);
  Json::sax_parse(text.begin(), text.end(), &builder);
  return builder.take();
}

Json parse_stored_json(std::string_view text) {
  try {
    DocumentBudget budget("stored definition");
    Builder builder(text, "stored definition", budget);
    Json::sax_parse(text.begin(), text.end(), &builder);
    auto values = builder.take();
    if (values.size() != 1) {
      Json arr = Json::array();
      for (auto& v : values) arr.push_back(std::move(v.value));
      return arr;
    }
    return std::move(values.front().value);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::interrupted) throw;
    throw Error(ErrorKind::internal, std::string("the store holds a definition that is not valid JSON: ") + e.what());
  }
}

}  // namespace wfctl
