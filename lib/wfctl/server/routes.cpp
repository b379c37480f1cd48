// What the route groups share (answers, errors, path and query parsing, JSON bodies) and the
// dispatch of a path to its group; the server description, the OpenAPI document and health.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <fmt/format.h>
#include <optional>
#include <wfctl/model/document.hpp>
#include <wfctl/model/document_limits.hpp>
#include <wfctl/store/lake/data_lake.hpp>
#include <wfctl/version.hpp>

#include "http.hpp"

namespace wfctl::server {

namespace {

// A path id as pydantic reads an int: optional sign and digits (64-bit here).
std::optional<std::int64_t> parse_int(std::string_view text) {
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  if (digits.empty()) return std::nullopt;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

// Python's json.JSONDecodeError as FastAPI reports it (loc ["body", pos], ctx of the error).
Error json_decode_error(const std::string& body, std::size_t pos) {
  pos = std::min(pos, body.size());
  std::int64_t line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < pos; ++i) {
    if (body[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  const auto col = static_cast<std::int64_t>(pos - line_start + 1);
  std::string msg = fmt::format("Expecting value: line {} column {} (char {})", line, col, pos);
  ErrorItem item{Loc{std::string("body"), static_cast<std::int64_t>(pos)}, msg, "value_error.jsondecode", msg};
  return Error(ErrorKind::invalid_input, "request body: " + msg, {}, {item});
}

bool is_json_media_type(const std::string* content_type) {
  if (!content_type) return true;
  std::string media = content_type->substr(0, content_type->find(';'));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  for (auto& c : media) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return media.empty() || media == "application/json" ||
         (media.size() > 5 && media.compare(media.size() - 5, 5, "+json") == 0);
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decoded(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 + 0 && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The path split into percent-decoded segments; empty segments (slashes) are dropped.
std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    auto raw = path.substr(i, end - i);
    out.push_back(raw.find('%') == std::string_view::npos ? std::string(raw) : percent_decoded(raw));
    i = end;
  }
  return out;
}

Json capabilities_json(const Capabilities& c) {
  return Json{{"multi_object_transactions", c.multi_object_transactions},
              {"result_listing", c.result_listing},
              {"arbitrary_result_names", c.arbitrary_result_names},
              {"stored_digests", c.stored_digests},
              {"definition_update", c.definition_update},
              {"result_deletion", c.result_deletion},
              {"job_queue", c.job_queue}};
}

void health(Context& ctx, Response& res) {
  ListQuery q;
  q.limit = 0;
  q.with_definition = false;
  try {
    ctx.store.list_workflows(q);
  } catch (const Error& e) {
    return send_detail(res, 503, fmt::format("the store is not ready: {}", e.what()));
  }
  send_json(res, 200, Json{{"status", "ok"}});
}

}  // namespace

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void send_json(Response& res, int status, const Json& body) {
  res.status = status;
  res.content_type = "application/json";
  res.body = dump(body);
}

void send_detail(Response& res, int status, const std::string& text) { send_json(res, status, Json{{"detail", text}}); }

void method_not_allowed(Response& res) { send_detail(res, 405, "Method Not Allowed"); }

void send_error(Response& res, const Error& e, const std::string& not_found_detail) {
  int status = 500;
  switch (e.kind()) {
    case ErrorKind::invalid_input: {
      Json detail = Json::array();
      for (const auto& item : e.items()) {
        Json loc = Json::array();
        for (const auto& part : item.loc) std::visit([&](const auto& v) { loc.push_back(v); }, part);
        Json j{{"loc", loc}, {"msg", item.msg}, {"type", item.type}};
        if (item.type == "value_error.jsondecode") {
          // Python's JSONDecodeError attributes, as FastAPI passes them on.
          auto pos = std::get<std::int64_t>(item.loc.back());
          j["ctx"] = Json{{"msg", "Expecting value"}, {"pos", pos}};
        }
        detail.push_back(std::move(j));
      }
      if (detail.empty())
        detail.push_back(Json{{"loc", Json::array({"body"})}, {"msg", e.what()}, {"type", "value_error"}});
      return send_json(res, 422, Json{{"detail", detail}});
    }
    case ErrorKind::not_found: status = 404; break;
    case ErrorKind::conflict: status = 409; break;
    case ErrorKind::permission: status = 403; break;
    case ErrorKind::usage: status = 400; break;
    case ErrorKind::not_supported: status = 501; break;
    case ErrorKind::unavailable:
      status = 503;
      res.set_header("Retry-After", "1");
      break;
    case ErrorKind::interrupted: status = 503; break;  // the server is stopping
    case ErrorKind::timed_out: status = 504; break;
    case ErrorKind::job_failed:
    case ErrorKind::internal: status = 500; break;
  }
  if (status == 404 && !not_found_detail.empty()) return send_detail(res, 404, not_found_detail);
  send_detail(res, status, e.what());
}

Error invalid(std::string message, Loc loc, std::string msg, std::string type) {
  ErrorItem item{std::move(loc), std::move(msg), std::move(type), message};
  return Error(ErrorKind::invalid_input, std::move(message), {}, {std::move(item)});
}

std::int64_t path_id(std::string_view text, const char* name) {
  if (auto id = parse_int(text)) return *id;
  throw invalid(fmt::format("{}: value is not a valid integer", name), Loc{std::string("path"), std::string(name)},
                "value is not a valid integer", "type_error.integer");
}

std::optional<std::string> query_string(const Request& req, const char* name) {
  if (const auto* v = req.param(name)) return *v;
  return std::nullopt;
}

std::optional<bool> query_bool(const Request& req, const char* name) {
  const auto* v = req.param(name);
  if (!v) return std::nullopt;
  if (*v == "true") return true;
  if (*v == "false") return false;
  throw invalid(fmt::format("query {}: value could not be parsed to a boolean", name),
                Loc{std::string("query"), std::string(name)}, "value could not be parsed to a boolean", "type_error.bool");
}

std::optional<std::int64_t> query_int(const Request& req, const char* name) {
  const auto* v = req.param(name);
  if (!v) return std::nullopt;
  if (auto i = parse_int(*v)) return *i;
  throw invalid(fmt::format("query {}: value is not a valid integer", name), Loc{std::string("query"), std::string(name)},
                "value is not a valid integer", "type_error.integer");
}

std::optional<Json> json_body(Request& req, Response& res) {
  std::string body;
  bool too_large = false;
  bool ok = req.read_body([&](const char* data, std::size_t n) {
    if (body.size() + n > DocumentLimits::k_max_input_bytes) {
      too_large = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  if (too_large) {
    res.close_connection = true;
    send_detail(res, 413, fmt::format("request body larger than {} MiB", DocumentLimits::k_max_input_bytes >> 20));
    return std::nullopt;
  }
  if (!ok) {
    res.close_connection = true;
    send_detail(res, 400, "the request body could not be read");
    return std::nullopt;
  }
  const Loc whole{std::string("body")};
  if (body.empty()) throw invalid("request body: field required", whole, "field required", "value_error.missing");
  if (!is_json_media_type(req.header("Content-Type")))
    throw invalid("request body: value is not a valid dict", whole, "value is not a valid dict", "type_error.dict");
  Json value;
  try {
    value = Json::parse(body);
  } catch (const Json::parse_error& e) {
    throw json_decode_error(body, e.byte > 0 ? e.byte - 1 : 0);
  }
  // The library's limits (depth, sizes) for what is stored.
  if (value.is_object()) return std::move(parse_documents(body, "request body").front().value);
  return value;
}

Error at_index(const Error& e, std::int64_t index) {
  std::vector<ErrorItem> items = e.items();
  for (auto& item : items) item.loc.insert(item.loc.begin() + (item.loc.empty() ? 0 : 1), index);
  return Error(e.kind(), fmt::format("item {}: {}", index, e.what()), e.hint(), items);
}

void check_safe_name(const std::string& name, const Loc& loc) {
  try {
    lake::DataLake::check_name(name);
    auto decoded = percent_decoded(name);
    if (decoded != name) {
      try {
        lake::DataLake::check_name(decoded);
      } catch (const Error& e) {
        throw Error(ErrorKind::invalid_input, fmt::format("unsafe file name '{}': it percent-decodes to an unsafe name ({})",
                                                          lake::escape_name(name), e.what()));
      }
    }
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::invalid_input) throw;
    throw invalid(e.what(), loc, e.what(), "value_error.filename");
  }
}

std::string path_name(const std::string& segment) {
  check_safe_name(segment, Loc{std::string("path"), std::string("name")});
  return segment;
}

bool quick_route(std::string_view method, std::string_view path) {
  if (method != "GET" && method != "HEAD" && method != "OPTIONS") return false;  // a write may wait for the lock
  // GET P/jobs/{id}/wait is a long poll, however its path is spelled ("//jobs/3/w%61it"): the
  // segments are the ones route() reads. A path without "wait" or an escape needs no split.
  if (path.find("wait") == std::string_view::npos && path.find('%') == std::string_view::npos) return true;
  const auto seg = segments(path);
  return !(seg.size() == 3 && seg[0] == "jobs" && seg[2] == "wait");
}

void route(Context& ctx, Request& req, Response& res, std::string_view path) {
  Route r{req, res, segments(path)};
  const auto& seg = r.seg;
  try {
    if (seg.size() == 1 && seg[0] == "server") {
      if (!r.get()) return method_not_allowed(res);
      return send_json(res, 200,
                       Json{{"name", "wfctl"},
                            {"version", k_version},
                            {"api", 1},
                            {"capabilities", capabilities_json(ctx.store.capabilities())}});
    }
    if (seg.size() == 1 && seg[0] == "openapi.json") {
      if (!r.get()) return method_not_allowed(res);
      return send_json(res, 200, openapi_document(ctx.options.prefix));
    }
    if (seg.size() == 2 && seg[0] == "health" && seg[1] == "readiness") {
      if (!r.get()) return method_not_allowed(res);
      return health(ctx, res);
    }
    if (route_results(ctx, r) || route_jobs(ctx, r) || route_workflows(ctx, r)) return;
    send_detail(res, 404, "Not Found");
  } catch (const Error& e) {
    send_error(res, e);
  }
}

}  // namespace wfctl::server
