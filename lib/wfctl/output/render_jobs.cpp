// Renderers of jobs: -o table|wide|json|yaml|name.
#include <fmt/format.h>
#include <wfctl/output/render.hpp>

namespace wfctl::output {

namespace {

std::string cut(const std::string& s, std::size_t max) { return s.size() <= max ? s : s.substr(0, max - 3) + "..."; }

std::string when(const std::optional<std::string>& t) { return t ? t->substr(0, 19) : "-"; }

}  // namespace

void print_jobs(std::ostream& out, const std::vector<Job>& list, const Options& o) {
  switch (o.format) {
    case Format::json:
    case Format::yaml: {
      Json arr = Json::array();
      for (const auto& j : list) arr.push_back(to_json(j));
      return print_structured(out, arr, o.format);
    }
    case Format::name:
      for (const auto& j : list) out << j.id << '\n';
      return;
    case Format::table:
    case Format::wide: {
      if (list.empty()) return;
      const bool wide = o.format == Format::wide;
      std::vector<std::string> headers = {"ID", "STATUS", "RECORD", "TOPIC", "INPUT", "ATTEMPTS", "CREATED"};
      if (wide) headers.insert(headers.end(), {"STARTED", "FINISHED", "WORKER", "DELIVERY", "OUTPUT"});
      headers.push_back("MESSAGE");
      Table t(headers);
      for (const auto& j : list) {
        std::string status(to_string(j.status));
        if (j.status == JobStatus::queued && j.retry_at) status = "queued (retry)";
        if (j.delivery == Delivery::failed) status += " (undelivered)";
        std::vector<std::string> row = {std::to_string(j.id),
                                        status,
                                        std::to_string(j.record_id),
                                        j.topic,
                                        j.input,
                                        fmt::format("{}/{}", j.attempts, j.max_attempts),
                                        j.datetime_created.substr(0, 19)};
        if (wide)
          row.insert(row.end(), {when(j.datetime_started), when(j.datetime_finished), j.worker.value_or("-"),
                                 std::string(to_string(j.delivery)), j.output});
        row.push_back(wide ? j.message.value_or("") : cut(j.message.value_or(""), 60));
        t.add(std::move(row));
      }
      t.print(out, o.no_headers);
      return;
    }
  }
}

void print_job(std::ostream& out, const Job& j, const Options& o) {
  if (is_structured(o.format)) return print_structured(out, to_json(j), o.format);
  print_jobs(out, {j}, o);
}

void print_changed_jobs(std::ostream& out, const std::vector<Job>& list, const std::string& verb, const Options& o) {
  if (o.format == Format::table || o.format == Format::wide) {
    for (const auto& j : list) out << "job/" << j.id << ' ' << verb << '\n';
    return;
  }
  if (is_structured(o.format) && list.size() == 1) return print_job(out, list.front(), o);
  print_jobs(out, list, o);
}

}  // namespace wfctl::output
