// The contract's routes: workflows CRUD, upload, download, image and health.
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <filesystem>
#include <fmt/format.h>
#include <optional>
#include <wfctl/model/document.hpp>
#include <wfctl/model/document_limits.hpp>
#include <wfctl/ops/results.hpp>
#include <wfctl/ops/workflows.hpp>
#include <wfctl/store/lake/data_lake.hpp>
#include <wfctl/util/fs.hpp>

#include "http.hpp"

namespace wfctl::server {

namespace {

using Loc = std::vector<std::variant<std::string, std::int64_t>>;

const char* const k_workflow_not_found = "Workflow not found";
const char* const k_result_not_found = "Result not found";

Error invalid(std::string message, Loc loc, std::string msg, std::string type) {
  ErrorItem item{std::move(loc), std::move(msg), std::move(type), message};
  return Error(ErrorKind::invalid_input, std::move(message), {}, {std::move(item)});
}

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

std::int64_t path_id(std::string_view text, const char* name) {
  if (auto id = parse_int(text)) return *id;
  throw invalid(fmt::format("{}: value is not a valid integer", name), Loc{std::string("path"), std::string(name)},
                "value is not a valid integer", "type_error.integer");
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
  Error e(ErrorKind::invalid_input, "request body: " + msg, {}, {item});
  return e;
}

bool is_json_media_type(const std::string& content_type) {
  std::string media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  for (auto& c : media) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return media.empty() || media == "application/json" ||
         (media.size() > 5 && media.compare(media.size() - 5, 5, "+json") == 0);
}

// The body of a POST or PUT, read whole (workflow documents are bounded): nullopt after
// answering 413 when it is larger than a document may be.
std::optional<std::string> read_body(const httplib::ContentReader& reader, httplib::Response& res) {
  std::string body;
  bool too_large = false;
  bool ok = reader([&](const char* data, std::size_t n) {
    if (body.size() + n > DocumentLimits::k_max_input_bytes) {
      too_large = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  if (too_large) {
    res.set_header("Connection", "close");
    send_detail(res, 413, fmt::format("request body larger than {} MiB", DocumentLimits::k_max_input_bytes >> 20));
    return std::nullopt;
  }
  if (!ok) {
    res.set_header("Connection", "close");
    send_detail(res, 400, "the request body could not be read");
    return std::nullopt;
  }
  return body;
}

// The JSON object of a request body, or Error(invalid_input) with the reference's item.
Json body_object(const httplib::Request& req, const std::string& body) {
  if (body.empty()) throw invalid("request body: field required", Loc{std::string("body")}, "field required", "value_error.missing");
  const Loc whole{std::string("body")};
  if (!is_json_media_type(req.get_header_value("Content-Type")))
    throw invalid("request body: value is not a valid dict", whole, "value is not a valid dict", "type_error.dict");
  Json value;
  try {
    value = Json::parse(body);
  } catch (const Json::parse_error& e) {
    throw json_decode_error(body, e.byte > 0 ? e.byte - 1 : 0);
  }
  if (!value.is_object())
    throw invalid("request body: value is not a valid dict", whole, "value is not a valid dict", "type_error.dict");
  // The library's limits (depth, sizes) for what is stored.
  return std::move(parse_documents(body, "request body").front().value);
}

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// --- workflows ---

void create_workflow(Context& ctx, const httplib::Request& req, httplib::Response& res,
                     const httplib::ContentReader& reader) {
  auto body = read_body(reader, res);
  if (!body) return;
  auto draft = draft_from_workflow_in(body_object(req, *body), "request body");
  auto created = create_workflows(ctx.store, {draft}, WriteCall<std::vector<Workflow>>{ctx.requests.child(), {}});
  send_json(res, 201, to_json(created.front()));
}

void list(Context& ctx, httplib::Response& res, bool with_definition) {
  ListQuery q;
  q.with_definition = with_definition;
  Json out = Json::array();
  for (const auto& w : ctx.store.list_workflows(q)) out.push_back(to_json(w, with_definition));
  send_json(res, 200, out);
}

void get_workflow(Context& ctx, httplib::Response& res, std::string_view id_text) {
  auto id = path_id(id_text, "workflow_id");
  auto w = ctx.store.find_workflow(id);
  if (!w) return send_detail(res, 404, k_workflow_not_found);
  send_json(res, 200, to_json(*w));
}

void put_workflow(Context& ctx, const httplib::Request& req, httplib::Response& res, std::string_view id_text,
                  const httplib::ContentReader& reader) {
  auto body = read_body(reader, res);
  if (!body) return;
  // FastAPI validates the path and the body together: every problem in one answer.
  std::vector<ErrorItem> items;
  std::optional<Error> first;
  std::int64_t id = 0;
  std::optional<WorkflowFields> fields;
  try {
    id = path_id(id_text, "workflow_id");
  } catch (const Error& e) {
    first = e;
    items = e.items();
  }
  try {
    fields = fields_from_base_workflow(body_object(req, *body), "request body");
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::invalid_input) throw;
    if (!first) first = e;
    items.insert(items.end(), e.items().begin(), e.items().end());
  }
  if (first) throw Error(ErrorKind::invalid_input, first->what(), {}, items);
  auto w = ctx.store.update_workflow(id, WorkflowUpdate{*fields, std::nullopt}, WriteCall<Workflow>{ctx.requests.child(), {}});
  send_json(res, 200, to_json(w));
}

void delete_workflow(Context& ctx, httplib::Response& res, std::string_view id_text) {
  auto id = path_id(id_text, "workflow_id");
  delete_workflows(ctx.store, {id}, false, WriteCall<std::vector<WorkflowId>>{ctx.requests.child(), {}});
  res.status = 204;
}

// --- results ---

std::string percent_decoded(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The reference stores the name verbatim; we take one safe path component whose
// percent-decoded form (what another tool may turn it into) is safe too.
void check_upload_name(const std::string& name) {
  const Loc loc{std::string("body"), std::string("file")};
  if (name.empty()) throw invalid("the file part has no file name", loc, "the file part has no file name", "value_error.filename");
  try {
    lake::DataLake::check_name(name);
    auto decoded = percent_decoded(name);
    if (decoded != name) {
      try {
        lake::DataLake::check_name(decoded);
      } catch (const Error& e) {
        throw Error(ErrorKind::invalid_input,
                    fmt::format("unsafe file name '{}': it percent-decodes to an unsafe name ({})",
                                lake::escape_name(name), e.what()));
      }
    }
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::invalid_input) throw;
    throw invalid(e.what(), loc, e.what(), "value_error.filename");
  }
}

void upload(Context& ctx, const httplib::Request& req, httplib::Response& res, std::string_view id_text,
            const httplib::ContentReader& reader) {
  auto record = path_id(id_text, "record_id");
  const Loc file_loc{std::string("body"), std::string("file")};
  if (!req.is_multipart_form_data())
    throw invalid("request body: file: field required", file_loc, "field required", "value_error.missing");
  const std::uint64_t max = ctx.options.max_upload_size;
  // The bytes of the part go to an unnamed temporary file, never to memory; the library then
  // checks and stores them (copied in the kernel) with their reconstruction job.
  std::string dir = std::filesystem::temp_directory_path().string();
  UniqueFd spool;
  std::string filename;
  std::optional<Error> failed;
  bool seen = false, in_file = false, too_large = false;
  std::uint64_t size = 0;
  bool ok = reader(
      [&](const httplib::MultipartFormData& part) {
        in_file = false;
        if (part.name != "file" || seen) return true;
        seen = in_file = true;
        filename = part.filename;
        try {
          check_upload_name(filename);
          spool = UniqueFd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
          if (!spool) throw errno_error(errno, "cannot create a temporary file in " + dir);
        } catch (const Error& e) {
          failed = e;
          return false;
        }
        return true;
      },
      [&](const char* data, std::size_t n) {
        if (!in_file) return true;
        size += n;
        if (size > max) {
          too_large = true;
          return false;
        }
        try {
          write_all(spool.get(), data, n, "a temporary file in " + dir);
          ctx.requests.check();
        } catch (const Error& e) {
          failed = e;
          return false;
        }
        return true;
      });
  if (failed || too_large || !ok) res.set_header("Connection", "close");  // the rest of the body is unread
  if (failed) throw *failed;
  if (too_large) return send_detail(res, 413, fmt::format("the file is larger than the upload limit of {} bytes", max));
  if (!ok) return send_detail(res, 400, "the multipart body could not be read");
  if (!seen) throw invalid("request body: file: field required", file_loc, "field required", "value_error.missing");
  if (::lseek(spool.get(), 0, SEEK_SET) != 0) throw errno_error(errno, "cannot rewind a temporary file");
  ByteSource source(fd_reader(spool.get(), filename));
  source.file_fd = spool.get();
  source.name = filename;
  IngestOptions io;
  io.force = true;  // the reference replaces an upload of the same name (we do it atomically)
  io.cancel = ctx.requests.child();
  io.transport = &ctx.transport;
  ingest_result(ctx.store, record, filename, source, io);
  send_json(res, 200, Json{{"message", "Successfully uploaded " + filename}});
}

// Streams records/RECORD/record-RECORD.dcm: a content provider pulls the store's bytes while
// httplib writes them, so nothing larger than a chunk is held.
void send_result(Context& ctx, httplib::Response& res, std::string_view id_text, bool attachment) {
  auto record = path_id(id_text, "record_id");
  const std::string name = default_result_name(record);
  auto meta = ctx.store.find_result(record, name);
  if (!meta) return send_detail(res, 404, k_result_not_found);
  if (attachment) res.set_header("Content-Disposition", fmt::format("attachment; filename=\"{}\"", name));
  const std::uint64_t size = meta->size;
  Store* store = &ctx.store;
  Cancel cancel = ctx.requests.child();
  res.set_content_provider(
      static_cast<std::size_t>(size), attachment ? "application/octet-stream" : "text/html; charset=utf-8",
      [store, record, name, size, cancel](std::size_t offset, std::size_t, httplib::DataSink& sink) {
        if (offset != 0) return false;  // everything is written in the first call
        std::uint64_t sent = 0;
        try {
          ByteSink out([&](const char* data, std::size_t n) {
            if (sent + n > size) throw Error(ErrorKind::conflict, "the file changed while it was sent");
            if (!sink.write(data, n)) throw Error(ErrorKind::unavailable, "the client went away");
            sent += n;
          });
          store->read_result(record, name, out, cancel);
        } catch (const Error&) {
          return false;  // the connection drops: a short body is never taken for the file
        }
        return sent == size;
      });
}

void health(Context& ctx, httplib::Response& res) {
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

// The path split into segments: "/upload/7/" → {"upload", "7"}, with whether it ended in '/'.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(i, end - i));
    i = end;
  }
  return out;
}

bool is_method(const httplib::Request& req, const char* m) {
  return req.method == m || (std::string_view(m) == "GET" && req.method == "HEAD");
}

void method_not_allowed(httplib::Response& res) { send_detail(res, 405, "Method Not Allowed"); }

}  // namespace

void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void send_detail(httplib::Response& res, int status, const std::string& text) {
  send_json(res, status, Json{{"detail", text}});
}

void send_error(httplib::Response& res, const Error& e, const std::string& not_found_detail) {
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
      if (detail.empty()) detail.push_back(Json{{"loc", Json::array({"body"})}, {"msg", e.what()}, {"type", "value_error"}});
      return send_json(res, 422, Json{{"detail", detail}});
    }
    case ErrorKind::not_found: status = 404; break;
    case ErrorKind::conflict: status = 409; break;
    case ErrorKind::permission: status = 403; break;
    case ErrorKind::usage: status = 400; break;
    case ErrorKind::not_supported: status = 501; break;
    case ErrorKind::unavailable: status = 503; break;
    case ErrorKind::interrupted: status = 503; break;  // the server is stopping
    case ErrorKind::timed_out: status = 504; break;
    case ErrorKind::job_failed:
    case ErrorKind::internal: status = 500; break;
  }
  if (status == 404 && !not_found_detail.empty()) return send_detail(res, 404, not_found_detail);
  send_detail(res, status, e.what());
}

void route(Context& ctx, const httplib::Request& req, httplib::Response& res, std::string_view path,
           const httplib::ContentReader* reader) {
  auto seg = segments(path);
  const bool get = is_method(req, "GET"), post = req.method == "POST", put = req.method == "PUT",
             del = req.method == "DELETE";
  std::string not_found_detail;
  try {
    if (seg.empty()) {
      if (get) return list(ctx, res, true);
      if (post && reader) return create_workflow(ctx, req, res, *reader);
      return method_not_allowed(res);
    }
    if (seg.size() == 1 && seg[0] == "meta" && get) return list(ctx, res, false);
    if (seg.size() == 2 && seg[0] == "health" && seg[1] == "readiness") {
      if (get) return health(ctx, res);
      return method_not_allowed(res);
    }
    if (seg.size() == 2 && seg[0] == "upload") {
      if (post && reader) return upload(ctx, req, res, seg[1], *reader);
      return method_not_allowed(res);
    }
    if (seg.size() == 2 && (seg[0] == "download" || seg[0] == "image")) {
      not_found_detail = k_result_not_found;
      if (get) return send_result(ctx, res, seg[1], seg[0] == "download");
      return method_not_allowed(res);
    }
    if (seg.size() == 1) {
      not_found_detail = k_workflow_not_found;
      if (get) return get_workflow(ctx, res, seg[0]);
      if (put && reader) return put_workflow(ctx, req, res, seg[0], *reader);
      if (del) return delete_workflow(ctx, res, seg[0]);
      return method_not_allowed(res);
    }
    send_detail(res, 404, "Not Found");
  } catch (const Error& e) {
    send_error(res, e, not_found_detail);
  }
}

}  // namespace wfctl::server
