// The OpenAPI 3.0 document of `wfctl serve`: the reference's routes and the extensions of
// docs/serve-api.md, built from one table (tests/e2e checks that every route the server
// answers is in it).
#include <map>
#include <mutex>
#include <wfctl/version.hpp>

#include "http.hpp"

namespace wfctl::server {

namespace {

struct Op {
  const char* path;
  const char* method;
  const char* summary;
  const char* request;   // a schema name, "multipart", or nullptr
  const char* response;  // a schema name ("[X]" an array of X), "binary", "text", or nullptr
  int status;
  std::vector<const char*> query;
};

const std::vector<Op>& operations() {
  static const std::vector<Op> ops = {
      {"/", "get", "List workflows", nullptr, "[WorkflowOut]", 200, {"name", "author", "version", "sort_by", "order", "limit", "offset"}},
      {"/", "post", "Create a workflow", "WorkflowIn", "WorkflowOut", 201, {}},
      {"/meta/", "get", "List workflows without definitions", nullptr, "[WorkflowMetaOut]", 200,
       {"name", "author", "version", "sort_by", "order", "limit", "offset"}},
      {"/{workflow_id}", "get", "Get a workflow", nullptr, "WorkflowOut", 200, {}},
      {"/{workflow_id}", "delete", "Delete a workflow", nullptr, nullptr, 204, {}},
      {"/{workflow_id}/", "put", "Update a workflow (and its definition when given)", "BaseWorkflow", "WorkflowOut", 200, {}},
      {"/batch/", "post", "Create several workflows, all or nothing", "[WorkflowIn]", "[WorkflowOut]", 201, {}},
      {"/apply/", "post", "Create or update workflows by (name, version), all or nothing", "[WorkflowIn]", "[ApplyOutcome]", 200, {}},
      {"/delete/", "post", "Delete several workflows, all or nothing", "DeleteRequest", "Deleted", 200, {}},
      {"/upload/{record_id}/", "post", "Upload a file of a record (and submit its reconstruction job)", "multipart", "Uploaded", 200,
       {"force", "job", "topic", "finish_job", "worker", "message"}},
      {"/download/{record_id}/", "get", "Download record-{record_id}.dcm", nullptr, "binary", 200, {}},
      {"/image/{record_id}/", "get", "record-{record_id}.dcm, labelled text/html as the reference does", nullptr, "binary", 200, {}},
      {"/results/", "get", "List every result file", nullptr, "[ResultFile]", 200, {}},
      {"/results/{record_id}/", "get", "List the files of a record", nullptr, "[ResultFile]", 200, {}},
      {"/results/{record_id}/", "delete", "Delete every file of a record", nullptr, "[ResultFile]", 200, {"ignore_not_found"}},
      {"/results/{record_id}/{name}", "get", "Download a file (Range, If-None-Match; HEAD too)", nullptr, "binary", 200, {}},
      {"/results/{record_id}/{name}", "delete", "Delete a file", nullptr, "[ResultFile]", 200, {"ignore_not_found"}},
      {"/jobs/", "get", "List jobs", nullptr, "[Job]", 200, {"status", "record_id", "topic", "limit", "after"}},
      {"/jobs/", "post", "Submit a job (delivered through the server's transport)", "JobIn", "Job", 201, {}},
      {"/jobs/{job_id}", "get", "Get a job", nullptr, "Job", 200, {}},
      {"/jobs/{job_id}/wait", "get", "Wait until a job is final (at most 60 s)", nullptr, "Job", 200, {"timeout"}},
      {"/jobs/{job_id}/logs", "get", "A job's log from a byte offset", nullptr, "text", 200, {"offset"}},
      {"/jobs/cancel/", "post", "Cancel jobs, all or nothing", "JobIds", "[Job]", 200, {}},
      {"/jobs/retry/", "post", "Retry jobs, all or nothing", "JobIds", "[Job]", 200, {}},
      {"/jobs/claim/", "post", "A worker claims due jobs of the local queue", "ClaimIn", "[Job]", 200, {}},
      {"/jobs/depth", "get", "How many jobs are not final (a worker's --once)", nullptr, "Depth", 200, {"topic"}},
      {"/jobs/{job_id}/heartbeat", "post", "A worker renews its lease", "HeartbeatIn", "Lease", 200, {}},
      {"/jobs/{job_id}/finish", "post", "A worker ends its attempt (409 when no longer its job)", "FinishIn", "Job", 200, {}},
      {"/jobs/{job_id}/release", "post", "A worker gives its job back without counting the attempt", "ReleaseIn", nullptr, 204, {}},
      {"/jobs/{job_id}/log", "post", "A worker appends to its job's log", "binary", nullptr, 204, {}},
      {"/health/readiness", "get", "Readiness", nullptr, "Health", 200, {}},
      {"/server", "get", "What this server is and what its store keeps", nullptr, "ServerInfo", 200, {}},
      {"/openapi.json", "get", "This document", nullptr, nullptr, 200, {}},
  };
  return ops;
}

Json schema_ref(const std::string& name) {
  if (name.front() == '[') return Json{{"type", "array"}, {"items", schema_ref(name.substr(1, name.size() - 2))}};
  return Json{{"$ref", "#/components/schemas/" + name}};
}

Json str() { return Json{{"type", "string"}}; }
Json nullable_str() { return Json{{"type", "string"}, {"nullable", true}}; }
Json integer() { return Json{{"type", "integer"}}; }
Json boolean() { return Json{{"type", "boolean"}}; }
Json object(Json props, std::vector<std::string> required = {}) {
  Json o{{"type", "object"}, {"properties", std::move(props)}};
  if (!required.empty()) o["required"] = required;
  return o;
}

Json schemas() {
  Json meta_props{{"name", str()}, {"description", nullable_str()}, {"version", str()}, {"author", nullable_str()}};
  Json meta_out = meta_props;
  meta_out["id"] = integer();
  meta_out["datetime_created"] = str();
  meta_out["datetime_updated"] = nullable_str();
  Json out = meta_out;
  out["definition"] = Json{{"type", "object"}};
  Json in = meta_props;
  in["definition"] = Json{{"type", "object"}};
  Json base = meta_props;
  base["definition"] = Json{{"type", "object"}, {"description", "wfctl: replaces the definition when given"}};
  Json result{{"record_id", integer()}, {"name", str()}, {"size", integer()}, {"sha256", str()}, {"datetime_stored", str()}};
  Json job{{"id", integer()}, {"topic", str()}, {"record_id", integer()}, {"input", str()}, {"output", str()},
           {"status", Json{{"type", "string"}, {"enum", {"queued", "running", "succeeded", "failed", "cancelled"}}}},
           {"attempts", integer()}, {"max_attempts", integer()}, {"deadline_seconds", integer()},
           {"datetime_created", str()}, {"datetime_started", nullable_str()}, {"datetime_finished", nullable_str()},
           {"retry_at", nullable_str()}, {"message", nullable_str()}, {"worker", nullable_str()},
           {"lease_expires", nullable_str()},
           {"delivery", Json{{"type", "string"}, {"enum", {"local", "pending", "delivered", "failed"}}}}};
  Json caps = Json::object();
  for (const char* c : {"multi_object_transactions", "result_listing", "arbitrary_result_names", "stored_digests",
                        "definition_update", "result_deletion", "job_queue"})
    caps[c] = boolean();
  return Json{
      {"BaseWorkflow", object(base, {"name", "version"})},
      {"WorkflowIn", object(in, {"name", "version", "definition"})},
      {"WorkflowMetaOut", object(meta_out)},
      {"WorkflowOut", object(out)},
      {"ApplyOutcome", object(Json{{"action", Json{{"type", "string"}, {"enum", {"created", "configured", "unchanged"}}}},
                                   {"workflow", schema_ref("WorkflowOut")}})},
      {"DeleteRequest", object(Json{{"ids", Json{{"type", "array"}, {"items", integer()}}}, {"ignore_not_found", boolean()}},
                               {"ids"})},
      {"Deleted", object(Json{{"deleted", Json{{"type", "array"}, {"items", integer()}}}})},
      {"ResultFile", object(result)},
      {"Uploaded", object(Json{{"message", str()}, {"result", schema_ref("ResultFile")},
                               {"job", Json{{"allOf", Json::array({schema_ref("Job")})}, {"nullable", true}}}})},
      {"Job", object(job)},
      {"JobIn", object(Json{{"record_id", integer()}, {"input", str()}, {"topic", str()}, {"output", str()},
                            {"max_attempts", integer()}, {"deadline_seconds", integer()}},
                       {"record_id", "input"})},
      {"JobIds", object(Json{{"ids", Json{{"type", "array"}, {"items", integer()}}}}, {"ids"})},
      {"ClaimIn", object(Json{{"worker", str()}, {"topics", Json{{"type", "array"}, {"items", str()}}}, {"lease_ms", integer()},
                              {"max", integer()}},
                         {"worker"})},
      {"HeartbeatIn", object(Json{{"worker", str()}, {"lease_ms", integer()}}, {"worker", "lease_ms"})},
      {"Lease", object(Json{{"lease", Json{{"type", "string"}, {"enum", {"renewed", "lost"}}}}})},
      {"FinishIn", object(Json{{"worker", str()}, {"succeeded", boolean()}, {"message", str()}, {"retry_after_ms", integer()}},
                          {"worker", "succeeded"})},
      {"ReleaseIn", object(Json{{"worker", str()}, {"message", str()}}, {"worker"})},
      {"Depth", object(Json{{"queued", integer()}, {"waiting", integer()}, {"running", integer()},
                            {"next_retry_ms", Json{{"type", "integer"}, {"nullable", true}}}})},
      {"Health", object(Json{{"status", str()}})},
      {"ServerInfo", object(Json{{"name", str()}, {"version", str()}, {"api", integer()}, {"capabilities", object(caps)}})},
      {"HTTPError", object(Json{{"detail", str()}})},
      {"ValidationError", object(Json{{"loc", Json{{"type", "array"}, {"items", Json::object()}}}, {"msg", str()}, {"type", str()}})},
      {"HTTPValidationError", object(Json{{"detail", Json{{"type", "array"}, {"items", schema_ref("ValidationError")}}}})},
  };
}

Json build(const std::string& prefix) {
  Json paths = Json::object();
  for (const auto& op : operations()) {
    Json o{{"summary", op.summary}, {"operationId", std::string(op.method) + std::string(op.path)}};
    Json params = Json::array();
    const std::string path = op.path;
    for (const char* p : {"workflow_id", "record_id", "job_id", "name"})
      if (path.find(std::string("{") + p + "}") != std::string::npos)
        params.push_back(Json{{"name", p}, {"in", "path"}, {"required", true},
                              {"schema", std::string(p) == "name" ? str() : integer()}});
    for (const char* q : op.query) params.push_back(Json{{"name", q}, {"in", "query"}, {"required", false}, {"schema", str()}});
    if (!params.empty()) o["parameters"] = params;
    if (op.request) {
      std::string req = op.request;
      if (req == "binary")
        o["requestBody"] = Json{{"required", true},
                                {"content", {{"application/octet-stream", {{"schema", Json{{"type", "string"}, {"format", "binary"}}}}}}}};
      else if (req == "multipart")
        o["requestBody"] = Json{{"required", true},
                                {"content", {{"multipart/form-data",
                                              {{"schema", object(Json{{"file", Json{{"type", "string"}, {"format", "binary"}}}},
                                                                 {"file"})}}}}}};
      else
        o["requestBody"] = Json{{"required", true}, {"content", {{"application/json", {{"schema", schema_ref(req)}}}}}};
    }
    Json ok{{"description", "Successful Response"}};
    if (op.response) {
      std::string r = op.response;
      if (r == "binary")
        ok["content"] = {{"application/octet-stream", {{"schema", Json{{"type", "string"}, {"format", "binary"}}}}}};
      else if (r == "text")
        ok["content"] = {{"text/plain", {{"schema", str()}}}};
      else
        ok["content"] = {{"application/json", {{"schema", schema_ref(r)}}}};
    }
    Json responses{{std::to_string(op.status), ok}};
    if (op.request || !params.empty())
      responses["422"] = Json{{"description", "Validation Error"},
                              {"content", {{"application/json", {{"schema", schema_ref("HTTPValidationError")}}}}}};
    responses["default"] = Json{{"description", "Error"}, {"content", {{"application/json", {{"schema", schema_ref("HTTPError")}}}}}};
    o["responses"] = responses;
    paths[prefix + op.path][op.method] = o;
  }
  return Json{{"openapi", "3.0.2"},
              {"info", {{"title", "wfctl serve: ScanHub workflow manager"}, {"version", k_version}}},
              {"paths", paths},
              {"components", {{"schemas", schemas()}, {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}}};
}

}  // namespace

const Json& openapi_document(const std::string& prefix) {
  static std::mutex mutex;
  static std::map<std::string, Json> built;
  std::lock_guard lock(mutex);
  auto it = built.find(prefix);
  if (it == built.end()) it = built.emplace(prefix, build(prefix)).first;
  return it->second;
}

}  // namespace wfctl::server
