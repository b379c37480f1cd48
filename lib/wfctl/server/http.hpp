#pragma once
// Private to server/: what the route groups share.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <wfctl/error.hpp>
#include <wfctl/model/workflow.hpp>
#include <wfctl/server/answer_cache.hpp>
#include <wfctl/server/http_server.hpp>
#include <wfctl/server/server.hpp>

namespace wfctl::server {

using http::Request;
using http::Response;
using Loc = std::vector<std::variant<std::string, std::int64_t>>;

/// What every route handler shares.
struct Context {
  Store& store;
  Transport& transport;
  const ServeOptions& options;
  Cancel requests;  // cancelled once a stop request's grace period is over
  AnswerCache answers{};  // GET by id answers, for the store's version
};

/// A request under the prefix: its path split into percent-decoded segments ("/upload/7/"
/// → {"upload", "7"}).
struct Route {
  Request& req;
  Response& res;
  std::vector<std::string> seg;
  bool get() const { return req.method == "GET" || req.method == "HEAD"; }
  bool is(const char* method) const { return req.method == method; }
};

/// Compact JSON, invalid UTF-8 replaced: every body the server sends.
std::string dump(const Json& j);
/// Sets `res` to `status` with the compact JSON `body` (application/json).
void send_json(Response& res, int status, const Json& body);
/// Sets `res` to `status` with {"detail": text}.
void send_detail(Response& res, int status, const std::string& text);
/// Answers an Error: invalid input 422 with the reference's item list, the other kinds by
/// status; not_found answers `not_found_detail` ("Workflow not found") when one is given.
void send_error(Response& res, const Error& e, const std::string& not_found_detail = {});
/// 405 {"detail": "Method Not Allowed"}.
void method_not_allowed(Response& res);

/// Error(invalid_input) with one item.
Error invalid(std::string message, Loc loc, std::string msg, std::string type);
/// A path id as pydantic reads an int; throws invalid with loc ["path", name].
std::int64_t path_id(std::string_view text, const char* name);
/// Query parameters; absent → nullopt; a bad value → invalid with loc ["query", name].
std::optional<bool> query_bool(const Request& req, const char* name);
std::optional<std::int64_t> query_int(const Request& req, const char* name);
std::optional<std::string> query_string(const Request& req, const char* name);

/// The JSON body of a POST or PUT (bounded by the document limits), parsed as the reference
/// does: an empty body, a non-JSON content type and malformed JSON give its 422 items. Throws
/// Error(invalid_input) then, and answers 413 itself (returning nullopt) for a body too large.
std::optional<Json> json_body(Request& req, Response& res);
/// Error items of `e` with `index` inserted after "body" (an item of an array body).
Error at_index(const Error& e, std::int64_t index);
/// A result name from a path segment, refused with loc ["path", "name"] unless it (and its
/// percent-decoded form) is one safe name.
std::string path_name(const std::string& segment);
/// Checks a name like path_name, with `loc` for the error items.
void check_safe_name(const std::string& name, const Loc& loc);

// The route groups: each answers the paths it knows (405 for a known path and another
// method) and returns false for a path it does not know.
bool route_workflows(Context& ctx, Route& r);
bool route_results(Context& ctx, Route& r);
bool route_jobs(Context& ctx, Route& r);
/// The OpenAPI document of every route the server answers.
const Json& openapi_document(const std::string& prefix);

/// The compact JSON of a workflow as GET P/{id} answers it: dump(to_json(w)), byte for byte.
std::string workflow_body(const Workflow& w);
/// Whether `method` `path` (what follows the prefix, still encoded) is answered at once when
/// the store's reads are local: every GET, HEAD and OPTIONS but the job wait (a long poll).
bool quick_route(std::string_view method, std::string_view path);
/// Handles one request under the prefix; `path` is what follows the prefix, still encoded.
void route(Context& ctx, Request& req, Response& res, std::string_view path);

}  // namespace wfctl::server
