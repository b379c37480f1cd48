#pragma once
// How big a workflow document may be, and the running count that enforces it while JSON or
// YAML is turned into values. The limits are far above any real definition and low enough
// that printing, copying and freeing a document stay cheap and recursion stays shallow; a
// YAML alias bomb, which a few hundred bytes can make expand to gigabytes, stops at them.
#include <cstddef>
#include <string>

namespace wfctl {

struct DocumentLimits {
  static constexpr std::size_t k_max_input_bytes = std::size_t{256} << 20;  // one -f input
  static constexpr int k_max_depth = 512;                                    // nesting of one value
  static constexpr std::size_t k_max_values = 1'000'000;                     // in one document
  static constexpr std::size_t k_max_text = std::size_t{16} << 20;           // keys and strings, one document
  static constexpr std::size_t k_max_input_values = 20'000'000;              // all documents of an input
  static constexpr std::size_t k_max_input_text = std::size_t{512} << 20;
};

/// Counts the values and text of the documents read from one input; every add_* throws
/// Error(invalid_input, "<where>: ...") when a limit is passed.
class DocumentBudget {
 public:
  explicit DocumentBudget(std::string source) : m_source(std::move(source)) {}
  /// A new document (a YAML stream's next one, or the next item of a top-level list) starts.
  void start_document(std::string where);
  /// One more value (scalar, object or array), `text` bytes of key or string.
  void add_value(std::size_t text = 0) { add(1, text); }
  /// `values` more values holding `text` bytes (a YAML alias's copy).
  void add(std::size_t values, std::size_t text);
  /// Where the current document is, for messages.
  const std::string& where() const { return m_where; }
  /// Records that the input held a top-level list of documents (which may be empty).
  void saw_list() { m_saw_list = true; }
  bool saw_list_of_documents() const { return m_saw_list; }

 private:
  std::string m_source, m_where;
  std::size_t m_values = 0, m_text = 0, m_input_values = 0, m_input_text = 0;
  bool m_saw_list = false;
};

}  // namespace wfctl
