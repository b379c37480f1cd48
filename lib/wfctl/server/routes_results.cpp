// Result routes: the reference's upload, download and image, and the extensions: listing,
// any file by name (ranges, ETag, HEAD) and deletion.
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <wfctl/ops/results.hpp>
#include <wfctl/store/lake/data_lake.hpp>
#include <wfctl/util/fs.hpp>

#include "http.hpp"

namespace wfctl::server {

namespace {

const char* const k_result_not_found = "Result not found";

std::string base64_of_hex(const std::string& hex) {
  static const char* k_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out += k_alphabet[(n >> 18) & 63];
    out += k_alphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? k_alphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? k_alphabet[n & 63] : '=';
  }
  return out;
}

std::string content_disposition(const std::string& name) {
  bool plain = true;
  for (unsigned char c : name)
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') plain = false;
  if (plain) return fmt::format("attachment; filename=\"{}\"", name);
  std::string ascii, encoded;
  for (unsigned char c : name) {
    ascii += (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '_' : static_cast<char>(c);
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') encoded += static_cast<char>(c);
    else encoded += fmt::format("%{:02X}", c);
  }
  return fmt::format("attachment; filename=\"{}\"; filename*=UTF-8''{}", ascii, encoded);
}

// One byte range of a file of `size` bytes: nullopt for a header to ignore (absent, not
// bytes=, several ranges, malformed); first > last marks an unsatisfiable range.
struct ByteRange {
  std::uint64_t first = 0, last = 0;
  bool satisfiable() const { return first <= last; }
};
std::optional<ByteRange> parse_range(const std::string* header, std::uint64_t size) {
  if (!header || header->rfind("bytes=", 0) != 0) return std::nullopt;
  std::string spec = header->substr(6);
  if (spec.find(',') != std::string::npos) return std::nullopt;
  auto dash = spec.find('-');
  if (dash == std::string::npos) return std::nullopt;
  auto number = [](const std::string& s) -> std::optional<std::uint64_t> {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 19) return std::nullopt;
    return std::stoull(s);
  };
  auto a = spec.substr(0, dash), b = spec.substr(dash + 1);
  if (a.empty()) {  // the last N bytes
    auto n = number(b);
    if (!n) return std::nullopt;
    if (*n == 0 || size == 0) return ByteRange{1, 0};
    return ByteRange{size - std::min(*n, size), size - 1};
  }
  auto first = number(a);
  if (!first) return std::nullopt;
  std::uint64_t last = size ? size - 1 : 0;
  if (!b.empty()) {
    auto l = number(b);
    if (!l || *l < *first) return std::nullopt;
    last = std::min(*l, last);
  }
  if (*first >= size) return ByteRange{1, 0};
  return ByteRange{*first, last};
}

bool etag_matches(const std::string* header, const std::string& etag) {
  if (!header) return false;
  if (*header == "*") return true;
  std::size_t i = 0;
  while (i < header->size()) {
    auto comma = header->find(',', i);
    if (comma == std::string::npos) comma = header->size();
    std::string one = header->substr(i, comma - i);
    while (!one.empty() && one.front() == ' ') one.erase(0, 1);
    while (!one.empty() && one.back() == ' ') one.pop_back();
    if (one.rfind("W/", 0) == 0) one = one.substr(2);
    if (one == etag) return true;
    i = comma + 1;
  }
  return false;
}

// Streams records/RECORD/NAME with its headers. A whole file comes through read_result
// (which checks its digest at the end: a mismatch drops the connection); a range is read from
// the store's local file when it has one.
void send_file(Context& ctx, Route& r, RecordId record, const std::string& name, const char* content_type) {
  auto& res = r.res;
  auto meta = ctx.store.find_result(record, name);
  if (!meta) return send_detail(res, 404, k_result_not_found);
  const std::uint64_t size = meta->size;
  res.set_header("Accept-Ranges", "bytes");
  res.set_header("Content-Disposition", content_disposition(name));
  if (!meta->sha256.empty()) {
    const std::string etag = "\"" + meta->sha256 + "\"";
    res.set_header("ETag", etag);
    res.set_header("Repr-Digest", "sha-256=:" + base64_of_hex(meta->sha256) + ":");
    if (etag_matches(r.req.header("If-None-Match"), etag)) {
      res.status = 304;
      return;
    }
  }
  auto range = parse_range(r.req.header("Range"), size);
  if (range && !range->satisfiable()) {
    res.set_header("Content-Range", fmt::format("bytes */{}", size));
    return send_detail(res, 416, "Range Not Satisfiable");
  }
  res.content_type = content_type;
  if (size == 0) {
    res.status = 200;
    return;
  }
  std::uint64_t first = 0, length = size;
  res.status = 200;
  if (range) {
    first = range->first;
    length = range->last - range->first + 1;
    res.status = 206;
    res.set_header("Content-Range", fmt::format("bytes {}-{}/{}", range->first, range->last, size));
  }
  res.content_length = length;
  Store* store = &ctx.store;
  Cancel cancel = ctx.requests.child();
  const bool whole = !range;
  res.provider = [store, record, name, first, length, whole, cancel](const http::WriteFn& write) {
    if (!whole) {
      if (auto local = store->local_result_path(record, name)) {
        UniqueFd fd(::open(local->c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return false;
        std::vector<char> buf(std::size_t{1} << 18);
        std::uint64_t done = 0;
        while (done < length) {
          auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length - done));
          ssize_t n = ::pread(fd.get(), buf.data(), want, static_cast<off_t>(first + done));
          if (n <= 0 || cancel.cancelled() || !write(buf.data(), static_cast<std::size_t>(n))) return false;
          done += static_cast<std::uint64_t>(n);
        }
        return true;
      }
    }
    // The store's stream, skipping to the range.
    std::uint64_t pos = 0, sent = 0;
    try {
      ByteSink out([&](const char* data, std::size_t n) {
        std::uint64_t begin = pos, end = pos + n;
        pos = end;
        if (end <= first || sent >= length) return;
        std::uint64_t from = std::max(begin, first);
        auto count = static_cast<std::size_t>(std::min<std::uint64_t>(end - from, length - sent));
        if (!write(data + (from - begin), count)) throw Error(ErrorKind::unavailable, "the client went away");
        sent += count;
      });
      store->read_result(record, name, out, cancel);
    } catch (const Error&) {
      return false;  // the connection drops: a short body is never taken for the file
    }
    return sent == length;
  };
}

void upload(Context& ctx, Route& r, const std::string& id_text) {
  auto& res = r.res;
  auto record = path_id(id_text, "record_id");
  const Loc file_loc{std::string("body"), std::string("file")};
  IngestOptions io;
  io.force = query_bool(r.req, "force").value_or(true);  // the reference replaces (we do it atomically)
  io.job.submit = query_bool(r.req, "job").value_or(true);
  if (auto topic = query_string(r.req, "topic")) io.job.topic = *topic;
  io.cancel = ctx.requests.child();
  io.transport = &ctx.transport;
  // A worker's output: stored and its job finished in one transaction; it starts no job.
  if (auto finish = query_int(r.req, "finish_job")) {
    const Loc worker_loc{std::string("query"), std::string("worker")};
    const Loc job_loc{std::string("query"), std::string("finish_job")};
    auto worker = query_string(r.req, "worker");
    if (!worker || worker->empty() || worker->size() > 200)
      throw invalid("query worker: a worker of 1 to 200 characters is required with finish_job", worker_loc,
                    worker ? "ensure this value has 1 to 200 characters" : "field required",
                    worker ? "value_error.any_str.length" : "value_error.missing");
    if (query_bool(r.req, "job").value_or(false))
      throw invalid("query job: an upload that finishes a job submits none", Loc{std::string("query"), std::string("job")},
                    "an upload that finishes a job submits none", "value_error");
    auto job = ctx.store.jobs().get(*finish);
    if (!job) return send_detail(res, 404, "Job not found");
    if (job->record_id != record)
      throw invalid(fmt::format("query finish_job: job {} is of record {}, not {}", *finish, job->record_id, record), job_loc,
                    "the job is of another record", "value_error");
    io.job.submit = false;
    io.transport = nullptr;
    io.finish_job = FinishRequest{*finish, *worker, true, query_string(r.req, "message").value_or("its output was stored"), {}};
  } else if (r.req.param("worker") || r.req.param("message")) {
    throw invalid("query finish_job: field required with worker and message", Loc{std::string("query"), std::string("finish_job")},
                  "field required", "value_error.missing");
  }
  if (!r.req.read_multipart)
    throw invalid("request body: file: field required", file_loc, "field required", "value_error.missing");
  const std::uint64_t max = ctx.options.max_upload_size;
  // The part's bytes go straight into the store's writer; destroyed without commit (a
  // refusal, a client that went away, a stop), it leaves nothing.
  std::unique_ptr<ResultIngest> ingest;
  std::string filename;
  std::optional<Error> failed;
  bool seen = false, in_file = false, too_large = false;
  bool ok = r.req.read_multipart(
      [&](const http::PartHeader& part) {
        in_file = false;
        if (part.name != "file" || seen) return true;
        seen = in_file = true;
        filename = part.filename;
        try {
          if (filename.empty())
            throw invalid("request body: file: the file part has no file name", file_loc, "the file part has no file name",
                          "value_error.filename");
          check_safe_name(filename, file_loc);
          ingest = std::make_unique<ResultIngest>(ctx.store, record, filename, io);
        } catch (const Error& e) {
          failed = e;
          return false;
        }
        return true;
      },
      [&](const char* data, std::size_t n) {
        if (!in_file) return true;
        if (ingest->size() + n > max) {
          too_large = true;
          return false;
        }
        try {
          ingest->write(data, n);
        } catch (const Error& e) {
          failed = e;
          return false;
        }
        return true;
      });
  if (failed || too_large || !ok) {
    ingest.reset();
    res.close_connection = true;  // the rest of the body is unread
  }
  if (failed) {
    if (failed->kind() == ErrorKind::invalid_input && failed->items().empty())
      throw invalid(failed->what(), file_loc, failed->what(), "value_error");
    throw *failed;
  }
  if (!ok && !failed) {
    // The library refuses a body whose Content-Length is past its payload limit unread.
    const std::string* length = r.req.header("Content-Length");
    if (length && std::strtoull(length->c_str(), nullptr, 10) > max + (std::uint64_t{1} << 20)) too_large = true;
  }
  if (too_large) return send_detail(res, 413, fmt::format("the file is larger than the upload limit of {} bytes", max));
  if (!ok) return send_detail(res, 400, "the multipart body could not be read");
  if (!seen) throw invalid("request body: file: field required", file_loc, "field required", "value_error.missing");
  auto done = ingest->commit();
  send_json(res, 200,
            Json{{"message", "Successfully uploaded " + filename},
                 {"result", to_json(done.file)},
                 {"job", done.job ? to_json(*done.job) : Json(nullptr)}});
}

void list(Context& ctx, Route& r, std::optional<RecordId> record) {
  require(ctx.store, Capability::result_listing, "listing result files");
  Json out = Json::array();
  for (const auto& f : ctx.store.list_results(record)) out.push_back(to_json(f));
  send_json(r.res, 200, out);
}

void remove(Context& ctx, Route& r, RecordId record, const std::optional<std::string>& name) {
  require(ctx.store, Capability::result_deletion, "deleting result files");
  bool ignore = query_bool(r.req, "ignore_not_found").value_or(false);
  Json out = Json::array();
  for (const auto& f : ctx.store.delete_results(record, name, ignore, WriteCall<std::vector<ResultFile>>{ctx.requests.child(), {}}))
    out.push_back(to_json(f));
  send_json(r.res, 200, out);
}

}  // namespace

bool route_results(Context& ctx, Route& r) {
  const auto& seg = r.seg;
  auto& res = r.res;
  if (seg.empty()) return false;
  const std::string& head = seg[0];
  try {
    if (seg.size() == 2 && head == "upload") {
      if (!r.is("POST")) return method_not_allowed(res), true;
      return upload(ctx, r, seg[1]), true;
    }
    if (seg.size() == 2 && (head == "download" || head == "image")) {
      if (!r.get()) return method_not_allowed(res), true;
      auto record = path_id(seg[1], "record_id");
      send_file(ctx, r, record, default_result_name(record),
                head == "download" ? "application/octet-stream" : "text/html; charset=utf-8");
      return true;
    }
    if (head != "results" || seg.size() > 3) return false;
    if (seg.size() == 1) {
      if (!r.get()) return method_not_allowed(res), true;
      return list(ctx, r, std::nullopt), true;
    }
    auto record = path_id(seg[1], "record_id");
    if (seg.size() == 2) {
      if (r.get()) return list(ctx, r, record), true;
      if (r.is("DELETE")) return remove(ctx, r, record, std::nullopt), true;
      return method_not_allowed(res), true;
    }
    auto name = path_name(seg[2]);
    if (r.get()) return send_file(ctx, r, record, name, "application/octet-stream"), true;
    if (r.is("DELETE")) return remove(ctx, r, record, name), true;
    return method_not_allowed(res), true;
  } catch (const Error& e) {
    send_error(res, e, head == "upload" ? "" : k_result_not_found);
    return true;
  }
}

}  // namespace wfctl::server
