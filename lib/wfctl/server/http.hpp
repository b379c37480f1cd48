#pragma once
// Private to server/: the routes' view of a request, over cpp-httplib.
#include <httplib.h>

#include <string>
#include <string_view>
#include <vector>

#include <wfctl/error.hpp>
#include <wfctl/model/workflow.hpp>
#include <wfctl/server/server.hpp>

namespace wfctl::server {

/// What every route handler shares.
struct Context {
  Store& store;
  Transport& transport;
  const ServeOptions& options;
  Cancel requests;  // cancelled once a stop request's grace period is over
};

/// Sets `res` to `status` with the compact JSON `body` (application/json).
void send_json(httplib::Response& res, int status, const Json& body);
/// Sets `res` to `status` with {"detail": text}.
void send_detail(httplib::Response& res, int status, const std::string& text);
/// Answers an Error: invalid input 422 with the reference's item list, the other kinds by
/// status; not_found answers `not_found_detail` ("Workflow not found") when one is given.
void send_error(httplib::Response& res, const Error& e, const std::string& not_found_detail = {});

/// Handles one request under the prefix: `path` is what follows the prefix ("/", "/7",
/// "/upload/7/"); `reader` is set for POST and PUT, whose bodies are not read yet.
void route(Context& ctx, const httplib::Request& req, httplib::Response& res, std::string_view path,
           const httplib::ContentReader* reader);

}  // namespace wfctl::server
