#include <wfctl/model/job.hpp>

#include <algorithm>
#include <fmt/format.h>
#include <wfctl/error.hpp>
#include <wfctl/util/utf8.hpp>

namespace wfctl {

namespace {

const std::vector<std::string_view> k_status_names = {"queued", "running", "succeeded", "failed", "cancelled"};

Error invalid(std::string field, std::string msg, std::string type = "value_error") {
  std::string text = fmt::format("{}: {}", field, msg);
  return Error(ErrorKind::invalid_input, text, {}, {ErrorItem{{std::string("body"), field}, msg, type, text}});
}

bool topic_char(unsigned char c) { return std::isalnum(c) || c == '.' || c == '_' || c == '-'; }

// records/{record}/{name}: the record must be the job's, the name one path component.
void check_lake_path(const std::string& field, const std::string& path, RecordId record) {
  const std::string prefix = fmt::format("records/{}/", record);
  if (path.rfind(prefix, 0) != 0)
    throw invalid(field, fmt::format("'{}' is not a file of {} (expected {}NAME)", path.substr(0, 200),
                                     record_path(record), prefix));
  std::string_view name = std::string_view(path).substr(prefix.size());
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos || name.size() > 255)
    throw invalid(field, fmt::format("'{}' is not a file of {}", path.substr(0, 200), record_path(record)));
}

}  // namespace

std::string_view to_string(JobStatus s) noexcept { return k_status_names[static_cast<std::size_t>(s)]; }

const std::vector<std::string_view>& job_status_names() { return k_status_names; }

JobStatus parse_job_status(std::string_view text) {
  for (std::size_t i = 0; i < k_status_names.size(); ++i)
    if (k_status_names[i] == text) return static_cast<JobStatus>(i);
  throw Error(ErrorKind::usage, fmt::format("invalid job status '{}'", text),
              fmt::format("use one of: {}", fmt::join(k_status_names, ", ")));
}

bool is_final(JobStatus s) noexcept {
  return s == JobStatus::succeeded || s == JobStatus::failed || s == JobStatus::cancelled;
}

std::string_view to_string(Delivery d) noexcept {
  switch (d) {
    case Delivery::local: return "local";
    case Delivery::pending: return "pending";
    case Delivery::delivered: return "delivered";
    case Delivery::failed: return "failed";
  }
  return "local";
}

std::string default_job_output(RecordId record) { return record_path(record, default_result_name(record)); }

void check(const JobSpec& s) {
  if (s.topic.empty() || s.topic.size() > 200 ||
      !std::all_of(s.topic.begin(), s.topic.end(), [](unsigned char c) { return topic_char(c); }))
    throw invalid("topic", fmt::format("invalid topic '{}': use 1 to 200 of A-Z a-z 0-9 . _ -", s.topic.substr(0, 200)));
  if (s.record_id < 1) throw invalid("record_id", "must be a positive whole number");
  check_lake_path("input", s.input, s.record_id);
  if (s.output) check_lake_path("output", *s.output, s.record_id);
  if (s.max_attempts < 1 || s.max_attempts > 100) throw invalid("max_attempts", "must be between 1 and 100");
  if (s.deadline.count() < 1 || s.deadline > std::chrono::hours(24 * 7))
    throw invalid("deadline", "must be between 1s and 7 days");
}

Json to_json(const Job& j) {
  const auto opt = [](const std::optional<std::string>& v) { return v ? Json(*v) : Json(nullptr); };
  Json o = Json::object();
  o["id"] = j.id;
  o["topic"] = j.topic;
  o["record_id"] = j.record_id;
  o["input"] = j.input;
  o["output"] = j.output;
  o["status"] = std::string(to_string(j.status));
  o["attempts"] = j.attempts;
  o["max_attempts"] = j.max_attempts;
  o["deadline_seconds"] = j.deadline_seconds;
  o["datetime_created"] = j.datetime_created;
  o["datetime_started"] = opt(j.datetime_started);
  o["datetime_finished"] = opt(j.datetime_finished);
  o["retry_at"] = opt(j.retry_at);
  o["message"] = opt(j.message);
  o["worker"] = opt(j.worker);
  o["lease_expires"] = opt(j.lease_expires);
  o["delivery"] = std::string(to_string(j.delivery));
  return o;
}

std::string reference_message(RecordId record, std::string_view input) {
  // json.dumps(..., ensure_ascii=True): \" \\ \n \r \t \b \f named, other controls and
  // everything past ASCII as \uXXXX (UTF-16 surrogate pairs beyond the BMP).
  std::string out = fmt::format("{{\"record_id\": {}, \"input\": \"", record);
  for (std::size_t i = 0; i < input.size();) {
    char32_t cp = 0;
    std::size_t len = utf8_sequence(input, i, cp);
    if (len == 0) {  // input is checked as a lake path first; a stray byte shows as U+FFFD
      cp = 0xFFFD;
      len = 1;
    }
    i += len;
    switch (cp) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (cp >= 0x20 && cp < 0x7F) {
      out += static_cast<char>(cp);
    } else if (cp < 0x10000) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(cp));
    } else {
      char32_t v = cp - 0x10000;
      out += fmt::format("\\u{:04x}\\u{:04x}", static_cast<unsigned>(0xD800 + (v >> 10)),
                         static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
    }
  }
  out += "\"}";
  return out;
}

std::optional<JobMessage> parse_reference_message(std::string_view value) {
  Json j = Json::parse(value.begin(), value.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto r = j.find("record_id");
  auto in = j.find("input");
  if (r == j.end() || in == j.end() || !in->is_string()) return std::nullopt;
  if (!r->is_number_integer() || r->get<std::int64_t>() < 0) return std::nullopt;
  return JobMessage{r->get<std::int64_t>(), in->get<std::string>()};
}

}  // namespace wfctl
