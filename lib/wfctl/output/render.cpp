#include <wfctl/output/render.hpp>

#include <algorithm>
#include <fmt/format.h>
#include <type_traits>
#include <wfctl/error.hpp>
#include <wfctl/output/pretty_json.hpp>
#include <wfctl/util/utf8.hpp>

namespace wfctl::output {

namespace {

std::string or_none(const std::optional<std::string>& s) { return s ? *s : "<none>"; }

}  // namespace

Format parse_format(const std::string& text) {
  if (text == "table") return Format::table;
  if (text == "wide") return Format::wide;
  if (text == "json") return Format::json;
  if (text == "yaml") return Format::yaml;
  if (text == "name") return Format::name;
  throw Error(ErrorKind::usage, fmt::format("invalid output format '{}'", text),
              "use one of: table, wide, json, yaml, name");
}

void print_json(std::ostream& out, const Json& value) {
  out << value.dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
}


void Table::add(std::vector<std::string> row) {
  // Escaped, so that a row stays one line and a value cannot command the terminal: C0 and C1
  // controls (U+009B is a CSI) and bytes that are not UTF-8.
  for (auto& cell : row) {
    std::string clean;
    bool changed = false;
    for (std::size_t i = 0; i < cell.size();) {
      const auto c = static_cast<unsigned char>(cell[i]);
      char32_t cp = 0;
      const std::size_t n = c < 0x80 ? 1 : utf8_sequence(cell, i, cp);
      if (c == '\n') clean += "\\n";
      else if (c == '\t') clean += "\\t";
      else if (c == '\r') clean += "\\r";
      else if (c < 0x20 || c == 0x7f || n == 0) clean += fmt::format("\\x{:02x}", c);
      else if (n > 1 && is_c1_control(cp)) clean += fmt::format("\\u{:04x}", static_cast<unsigned>(cp));
      else {
        clean.append(cell, i, n);
        i += n;
        continue;
      }
      changed = true;
      i += n == 0 ? 1 : n;
    }
    if (changed) cell = std::move(clean);
  }
  m_rows.push_back(std::move(row));
}

bool is_structured(Format format) { return format == Format::json || format == Format::yaml; }

void print_structured(std::ostream& out, const Json& value, Format format) {
  if (format == Format::yaml) out << to_yaml(value);
  else print_json(out, value);
}

void Table::print(std::ostream& out, bool no_headers) const {
  std::vector<std::size_t> width(m_headers.size(), 0);
  if (!no_headers)
    for (std::size_t i = 0; i < m_headers.size(); ++i) width[i] = display_width(m_headers[i]);
  for (const auto& row : m_rows)
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], display_width(row[i]));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      s += cells[i];
      if (i + 1 < cells.size()) s.append(width[i] - display_width(cells[i]) + 3, ' ');
    }
    out << s << '\n';
  };
  if (!no_headers) line(m_headers);
  for (const auto& row : m_rows) line(row);
}

std::string human_size(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

namespace {

// The same text as print_json of the whole array, written one element at a time straight
// from the Workflow: 100 000 workflows are never copied into one JSON tree, and the
// definition is serialised in place at its final indentation.
void print_json_array(std::ostream& out, const std::vector<Workflow>& list, bool meta_only) {
  if (list.empty()) {
    out << "[]\n";
    return;
  }
  std::string buf;
  nlohmann::detail::serializer<Json> ser(nlohmann::detail::output_adapter<char>(buf), ' ',
                                         Json::error_handler_t::replace);
  auto text = [&](const std::string& s) { ser.dump(Json(s), false, false, 0); };
  auto optional_text = [&](const std::optional<std::string>& s) {
    if (s) text(*s);
    else buf += "null";
  };
  out << "[\n";
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Workflow& w = list[i];
    buf.clear();
    const char* before = "  {\n    \"";
    for_each_workflow_out_member(w, !meta_only, [&](const char* key, const auto& value) {
      buf += before;
      before = ",\n    \"";
      buf += key;  // plain ASCII: nothing to escape
      buf += "\": ";
      using T = std::decay_t<decltype(value)>;
      if constexpr (std::is_same_v<T, Definition>) {
        if (const std::string* stored = value.text()) append_pretty_json(buf, *stored, 4);
        else ser.dump(value.json(), true, false, 2, 4);
      } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
        optional_text(value);
      } else if constexpr (std::is_same_v<T, WorkflowId>) {
        buf += std::to_string(value);
      } else {
        text(value);
      }
    });
    buf += i + 1 < list.size() ? "\n  },\n" : "\n  }\n";
    out << buf;
  }
  out << "]\n";
}
}  // namespace

void print_workflows(std::ostream& out, const std::vector<Workflow>& list, const Options& o, bool meta_only) {
  switch (o.format) {
    case Format::json:
      print_json_array(out, list, meta_only);
      return;
    case Format::yaml: {
      Json arr = Json::array();
      for (const auto& w : list) arr.push_back(to_json(w, !meta_only));
      out << to_yaml(arr);
      return;
    }
    case Format::name:
      for (const auto& w : list) out << w.id << '\n';
      return;
    case Format::table:
    case Format::wide: {
      if (list.empty()) return;
      bool wide = o.format == Format::wide;
      Table t = wide ? Table({"ID", "NAME", "VERSION", "AUTHOR", "CREATED", "UPDATED", "DESCRIPTION"})
                     : Table({"ID", "NAME", "VERSION", "AUTHOR", "CREATED"});
      for (const auto& w : list) {
        std::vector<std::string> row{std::to_string(w.id), w.fields.name, w.fields.version,
                                     or_none(w.fields.author), w.datetime_created.substr(0, 19)};
        if (wide) {
          row.push_back(w.datetime_updated ? w.datetime_updated->substr(0, 19) : "<none>");
          row.push_back(or_none(w.fields.description));
        }
        t.add(std::move(row));
      }
      t.print(out, o.no_headers);
      return;
    }
  }
}

void print_workflow(std::ostream& out, const Workflow& w, const Options& o) {
  if (is_structured(o.format)) return print_structured(out, to_json(w), o.format);
  print_workflows(out, {w}, o, false);
}

void print_changed(std::ostream& out, const std::vector<Workflow>& list, const std::vector<std::string>& verbs,
                   const Options& o) {
  if (is_structured(o.format)) {
    Json j;
    if (list.size() == 1) {
      j = to_json(list.front());
    } else {
      j = Json::array();
      for (const auto& w : list) j.push_back(to_json(w));
    }
    return print_structured(out, j, o.format);
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (o.format == Format::name) out << list[i].id << '\n';
    else out << "workflow/" << list[i].id << ' ' << verbs[i] << '\n';
  }
}

void print_results(std::ostream& out, const std::vector<ResultFile>& list, const Options& o) {
  switch (o.format) {
    case Format::json:
    case Format::yaml: {
      Json arr = Json::array();
      for (const auto& r : list) arr.push_back(to_json(r));
      return print_structured(out, arr, o.format);
    }
    case Format::name:
      for (const auto& r : list) out << r.record_id << '/' << r.name << '\n';
      return;
    case Format::table:
    case Format::wide: {
      if (list.empty()) return;
      bool wide = o.format == Format::wide;
      Table t({"RECORD", "NAME", "SIZE", "SHA256", "STORED"});
      for (const auto& r : list)
        t.add({std::to_string(r.record_id), r.name, wide ? std::to_string(r.size) : human_size(r.size),
               wide ? r.sha256 : r.sha256.substr(0, 12), r.datetime_stored.substr(0, 19)});
      t.print(out, o.no_headers);
      return;
    }
  }
}

void print_result(std::ostream& out, const ResultFile& r, const Options& o) {
  if (is_structured(o.format)) return print_structured(out, to_json(r), o.format);
  print_results(out, {r}, o);
}

}  // namespace wfctl::output
