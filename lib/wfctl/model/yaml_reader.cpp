// YAML through libyaml's event parser into ordered values, without recursion.
//
// Not yaml-cpp: its 0.7 parser allocates without bound on inputs as small as "," (gigabytes
// in seconds, then the OOM killer), and resolves an alias to the very node it names, so that
// `&x {self: *x}` became a cycle and a few hundred bytes of aliases a graph too big to
// expand. Here an alias is a copy of a finished value, counted against the DocumentBudget,
// and an alias to an anchor still open is a cycle, refused.
#include <yaml.h>

#include <algorithm>
#include <fmt/format.h>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <wfctl/error.hpp>
#include <wfctl/model/json_reader.hpp>
#include <wfctl/model/yaml_scalar.hpp>
#include <wfctl/util/interrupt.hpp>
#include <wfctl/util/utf8.hpp>

namespace wfctl {

namespace {

const char* const k_meta_keys[] = {"name", "version", "description", "author"};
constexpr const char* k_str_tag = "tag:yaml.org,2002:str";

bool is_meta_key(const std::string& key) {
  return std::find(std::begin(k_meta_keys), std::end(k_meta_keys), key) != std::end(k_meta_keys);
}

// The number of values and bytes of text in `v`, as the budget counts them.
void measure(const Json& v, std::size_t& values, std::size_t& text) {
  ++values;
  if (v.is_string()) text += v.get_ref<const std::string&>().size();
  if (v.is_object())
    for (const auto& [k, child] : v.items()) {
      ++values;
      text += k.size();
      measure(child, values, text);
    }
  if (v.is_array())
    for (const auto& child : v) measure(child, values, text);
}

// libyaml's error as one line, at the place it names (a reader error, such as bytes that
// are not UTF-8, gives an offset rather than a mark).
Error syntax_error(const yaml_parser_t& p, std::string_view text, const std::string& source) {
  std::size_t line = p.problem_mark.line + 1, column = p.problem_mark.column + 1;
  if (p.error == YAML_READER_ERROR) {
    line = 1, column = 1;
    for (std::size_t i = 0; i < p.problem_offset && i < text.size(); ++i) {
      if (text[i] == '\n') ++line, column = 1;
      else ++column;
    }
  }
  std::string why = p.problem ? p.problem : "malformed input";
  if (p.context) why = std::string(p.context) + ": " + why;
  return Error(ErrorKind::invalid_input, fmt::format("{}:{}:{}: invalid YAML: {}", source, line, column, why));
}

struct Event {
  yaml_event_t e{};
  bool owned = false;
  ~Event() {
    if (owned) yaml_event_delete(&e);
  }
};

class Reader {
 public:
  Reader(std::string_view text, const std::string& source, DocumentBudget& budget)
      : m_text(text), m_source(source), m_budget(budget) {
    yaml_parser_initialize(&m_parser);
    yaml_parser_set_input_string(&m_parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  }
  ~Reader() { yaml_parser_delete(&m_parser); }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  std::vector<ReadValue> read() {
    struct Document {
      std::vector<ReadValue> values;  // `where` relative to the document: "" or "item N"
      bool empty = false;             // nothing between two "---"
    };
    std::vector<Document> documents;
    for (;;) {
      Event ev;
      next(ev);
      if (ev.e.type == YAML_STREAM_END_EVENT) break;
      if (ev.e.type != YAML_DOCUMENT_START_EVENT) continue;
      Document d;
      m_anchors.clear();
      m_number = documents.size() + 1;
      d.empty = !read_document(d.values);
      documents.push_back(std::move(d));
    }
    // Documents are named only in a stream of several; empty ones there are separators.
    std::vector<ReadValue> out;
    const bool several = documents.size() > 1;
    for (std::size_t n = 0; n < documents.size(); ++n) {
      if (several && documents[n].empty) continue;
      const std::string prefix = several ? fmt::format("{}: document {}", m_source, n + 1) : m_source;
      for (auto& v : documents[n].values)
        out.push_back({std::move(v.value), v.where.empty() ? prefix : prefix + ": " + v.where});
    }
    return out;
  }

 private:
  struct Frame {
    Json value;
    bool map = false;
    bool list_of_documents = false;  // the document's root sequence
    bool top_level = false;          // a document's own mapping: meta keys stay text
    std::string key;                 // maps: the key read, waiting for its value
    bool have_key = false;
    std::size_t index = 0;           // sequences: elements so far
    std::unordered_set<std::string> keys;
    std::string anchor;
  };

  void next(Event& ev) {
    if (!yaml_parser_parse(&m_parser, &ev.e)) throw syntax_error(m_parser, m_text, m_source);
    ev.owned = true;
  }

  // One document, from after DOCUMENT-START to DOCUMENT-END: its value, or the items of its
  // root sequence, appended to `values`. False when the document is empty (a null root).
  bool read_document(std::vector<ReadValue>& values) {
    std::vector<Frame> stack;
    bool empty = false;
    m_budget.start_document(document_where());
    for (;;) {
      Event ev;
      next(ev);
      const yaml_event_t& e = ev.e;
      if (e.type == YAML_DOCUMENT_END_EVENT) break;
      if ((++m_seen & 0xfff) == 0) throw_if_interrupted();
      switch (e.type) {
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
          Frame f;
          f.map = e.type == YAML_MAPPING_START_EVENT;
          f.value = f.map ? Json::object() : Json::array();
          const yaml_char_t* anchor = f.map ? e.data.mapping_start.anchor : e.data.sequence_start.anchor;
          if (anchor) {
            f.anchor = reinterpret_cast<const char*>(anchor);
            m_open.insert(f.anchor);
          }
          if (expecting_key(stack)) fail(e.start_mark, "mapping keys must be scalars");
          if (stack.empty()) {
            f.list_of_documents = !f.map;
            if (f.list_of_documents) m_budget.saw_list();
            f.top_level = f.map;
          } else if (stack.size() == 1 && stack.back().list_of_documents) {
            f.top_level = f.map;
            m_budget.start_document(document_where() + fmt::format(": item {}", stack.back().index + 1));
          }
          enter_child(stack);
          const bool in_list = !stack.empty() && stack.front().list_of_documents;
          if (stack.size() - (in_list ? 1 : 0) >= static_cast<std::size_t>(DocumentLimits::k_max_depth))
            fail(e.start_mark, fmt::format("nested more than {} levels deep", DocumentLimits::k_max_depth));
          m_budget.add_value();
          stack.push_back(std::move(f));
          break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
          Frame f = std::move(stack.back());
          stack.pop_back();
          if (!f.anchor.empty()) finish_anchor(f.anchor, f.value);
          if (!f.list_of_documents) place(stack, values, std::move(f.value));
          break;
        }
        case YAML_SCALAR_EVENT: {
          std::string text(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
          if (expecting_key(stack)) {
            Frame& f = stack.back();
            m_path.push_key(text);
            if (!is_valid_utf8(text)) fail(e.start_mark, "the key is not valid UTF-8");
            if (!f.keys.insert(text).second)
              fail(e.start_mark, fmt::format("duplicate key '{}'", text), "each key may appear once in a mapping");
            m_budget.add_value(text.size());
            f.key = std::move(text);
            f.have_key = true;
            break;
          }
          enter_child(stack);
          if (!is_valid_utf8(text)) fail(e.start_mark, "the value is not valid UTF-8");
          Json value = scalar(e, text, stack);
          if (stack.empty() && value.is_null()) empty = true;
          if (e.data.scalar.anchor) finish_anchor(reinterpret_cast<const char*>(e.data.scalar.anchor), value);
          place(stack, values, std::move(value));
          break;
        }
        case YAML_ALIAS_EVENT: {
          const std::string name = reinterpret_cast<const char*>(e.data.alias.anchor);
          if (expecting_key(stack)) fail(e.start_mark, "mapping keys must be scalars, not aliases");
          enter_child(stack);
          if (m_open.count(name))
            fail(e.start_mark, fmt::format("alias *{} refers to a node that contains it (a cycle)", name));
          auto it = m_anchors.find(name);
          if (it == m_anchors.end()) fail(e.start_mark, fmt::format("alias *{} names no anchor before it", name));
          m_budget.add(it->second.values, it->second.text);
          place(stack, values, it->second.value);
          break;
        }
        default:
          break;
      }
    }
    return !empty;
  }

  std::string document_where() const {
    return m_number > 1 ? fmt::format("{}: document {}", m_source, m_number) : m_source;
  }

  static bool expecting_key(const std::vector<Frame>& stack) {
    return !stack.empty() && stack.back().map && !stack.back().have_key;
  }

  // Before a value inside a sequence: its index joins the path (a map's key did already).
  void enter_child(std::vector<Frame>& stack) {
    if (stack.empty() || stack.back().map || stack.back().list_of_documents) return;
    m_path.push_index(stack.back().index);
  }

  // A finished value goes to its parent, or is a document (or a list item) of its own.
  void place(std::vector<Frame>& stack, std::vector<ReadValue>& values, Json value) {
    if (stack.empty()) {
      values.push_back({std::move(value), {}});
      return;
    }
    Frame& f = stack.back();
    if (f.map) {
      auto& members = static_cast<Json::object_t::Container&>(f.value.get_ref<Json::object_t&>());
      members.emplace_back(std::move(f.key), std::move(value));
      f.have_key = false;
      m_path.pop();
      return;
    }
    if (f.list_of_documents) {
      values.push_back({std::move(value), fmt::format("item {}", ++f.index)});
      return;
    }
    f.value.get_ref<Json::array_t&>().push_back(std::move(value));
    ++f.index;
    m_path.pop();
  }

  Json scalar(const yaml_event_t& e, const std::string& text, const std::vector<Frame>& stack) {
    m_budget.add_value(text.size());
    const bool plain = e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    const char* tag = reinterpret_cast<const char*>(e.data.scalar.tag);
    if (!plain || (tag && std::string_view(tag) == k_str_tag)) return text;  // quoted: a string
    const bool keep_text = !stack.empty() && stack.back().top_level && is_meta_key(stack.back().key);
    try {
      Json resolved = resolve_plain_scalar(text);
      // name: 1.10 stays "1.10": a version is text, whatever it looks like.
      if (keep_text) return resolved.is_null() ? Json(nullptr) : Json(text);
      return resolved;
    } catch (const Error& err) {
      if (keep_text) return text;
      fail(e.start_mark, err.what(), err.hint());
    }
  }

  void finish_anchor(const std::string& name, const Json& value) {
    m_open.erase(name);
    Anchored a{value, 0, 0};
    measure(value, a.values, a.text);
    m_anchors[name] = std::move(a);
  }

  [[noreturn]] void fail(const yaml_mark_t& m, const std::string& why, const std::string& hint = {}) {
    throw Error(ErrorKind::invalid_input,
                fmt::format("{}:{}:{}: {}: {}", m_source, m.line + 1, m.column + 1, m_path.str(), why), hint);
  }

  struct Anchored {
    Json value;
    std::size_t values, text;
  };

  yaml_parser_t m_parser{};
  std::string_view m_text;
  std::string m_source;
  DocumentBudget& m_budget;
  std::size_t m_number = 0;  // of the document being read
  std::unordered_map<std::string, Anchored> m_anchors;
  std::unordered_set<std::string> m_open;
  ValuePath m_path;
  std::size_t m_seen = 0;
};

}  // namespace

std::vector<ReadValue> read_yaml(std::string_view text, const std::string& source, DocumentBudget& budget) {
  Reader reader(text, source, budget);
  return reader.read();
}

void check_yaml_syntax(std::string_view text, const std::string& source) {
  yaml_parser_t parser{};
  yaml_parser_initialize(&parser);
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  std::unique_ptr<yaml_parser_t, void (*)(yaml_parser_t*)> owner(&parser, yaml_parser_delete);
  for (;;) {
    yaml_event_t e{};
    if (!yaml_parser_parse(&parser, &e)) throw syntax_error(parser, text, source);
    const bool end = e.type == YAML_STREAM_END_EVENT;
    yaml_event_delete(&e);
    if (end) return;
  }
}

}  // namespace wfctl
