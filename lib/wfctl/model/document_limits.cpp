#include <wfctl/model/document_limits.hpp>

#include <fmt/format.h>
#include <wfctl/error.hpp>

namespace wfctl {

void DocumentBudget::start_document(std::string where) {
  m_where = std::move(where);
  m_values = m_text = 0;
}

void DocumentBudget::add(std::size_t values, std::size_t text) {
  m_values += values;
  m_input_values += values;
  m_text += text;
  m_input_text += text;
  const std::string& where = m_where.empty() ? m_source : m_where;
  if (m_values > DocumentLimits::k_max_values)
    throw Error(ErrorKind::invalid_input,
                fmt::format("{}: more than {} values in one document", where, DocumentLimits::k_max_values),
                "a YAML alias counts as many values as it copies, at each use");
  if (m_text > DocumentLimits::k_max_text)
    throw Error(ErrorKind::invalid_input,
                fmt::format("{}: more than {} MiB of text in one document", where, DocumentLimits::k_max_text >> 20));
  if (m_input_values > DocumentLimits::k_max_input_values)
    throw Error(ErrorKind::invalid_input,
                fmt::format("{}: more than {} values in all", m_source, DocumentLimits::k_max_input_values));
  if (m_input_text > DocumentLimits::k_max_input_text)
    throw Error(ErrorKind::invalid_input,
                fmt::format("{}: more than {} MiB of text in all", m_source, DocumentLimits::k_max_input_text >> 20));
}

}  // namespace wfctl
