#pragma once
// Renderers for -o table|wide|json|yaml|name. Everything here writes data only: messages
// and progress go to stderr elsewhere.
#include <ostream>
#include <string>
#include <vector>

#include <wfctl/model/job.hpp>
#include <wfctl/model/result.hpp>
#include <wfctl/model/workflow.hpp>

namespace wfctl::output {

enum class Format { table, wide, json, yaml, name };

/// Parses an -o value; throws Error(usage) naming the valid formats.
Format parse_format(const std::string& text);

/// Pretty JSON (two-space indent) followed by a newline.
void print_json(std::ostream& out, const Json& value);
/// A YAML rendering of a JSON value; strings that YAML would read as something else are quoted.
std::string to_yaml(const Json& value);

/// True for the formats that print structured data: -o json and -o yaml.
bool is_structured(Format format);
/// `value` as YAML for -o yaml, else as pretty JSON.
void print_structured(std::ostream& out, const Json& value, Format format);

/// An aligned text table with an upper-case header row, columns three spaces apart.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : m_headers(std::move(headers)) {}
  /// Adds a row; control characters in cells are shown escaped (\n), so a row is one line.
  void add(std::vector<std::string> row);
  void print(std::ostream& out, bool no_headers) const;

 private:
  std::vector<std::string> m_headers;
  std::vector<std::vector<std::string>> m_rows;
};

struct Options {
  Format format = Format::table;
  bool no_headers = false;
};

/// Workflows as a table, JSON array, YAML list or ids; `meta_only` drops definitions
/// (WorkflowMetaOut). An empty list prints "[]" in JSON and nothing at all as a table.
void print_workflows(std::ostream& out, const std::vector<Workflow>& list, const Options& o, bool meta_only);
/// One workflow: the WorkflowOut object in JSON/YAML, a one-row table, or its id.
void print_workflow(std::ostream& out, const Workflow& w, const Options& o);
/// Workflows touched by create/update/apply/delete: "workflow/ID <verb>" lines in table form,
/// ids with -o name, the WorkflowOut objects (an object for one, an array for several) in
/// JSON/YAML.
void print_changed(std::ostream& out, const std::vector<Workflow>& list, const std::vector<std::string>& verbs,
                   const Options& o);

/// Result files as a table, JSON/YAML list, or RECORD/NAME lines.
void print_results(std::ostream& out, const std::vector<ResultFile>& list, const Options& o);
/// One result file.
void print_result(std::ostream& out, const ResultFile& r, const Options& o);

/// Jobs as a table (wide adds times, worker, delivery, output), JSON/YAML list, or ids.
void print_jobs(std::ostream& out, const std::vector<Job>& list, const Options& o);
/// One job: the object in JSON/YAML, a one-row table, or its id.
void print_job(std::ostream& out, const Job& j, const Options& o);
/// Jobs a command changed: "job/ID <verb>" lines in table form, ids with -o name, the job
/// objects (an object for one, an array for several) in JSON/YAML.
void print_changed_jobs(std::ostream& out, const std::vector<Job>& list, const std::string& verb, const Options& o);

/// A byte count for people: "1.5 MiB".
std::string human_size(std::uint64_t bytes);

}  // namespace wfctl::output
