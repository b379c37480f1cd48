#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>
#include <wfctl/model/workflow.hpp>
#include <wfctl/server/http.hpp>

using wfctl::server::quick_route;

// What `wfctl serve` answers on its I/O threads when the store is local: the reads. A write
// may wait for the store's lock and the job wait is a long poll, so they go to the handler
// threads (tests/e2e/test_serve_load.py checks that those never hold up a GET).
TEST_CASE("the reads of a local store are answered on the I/O threads, writes and the job wait are not") {
  for (const char* path : {"/12", "/12/", "/", "/meta/", "/server", "/openapi.json", "/health/readiness",
                           "/results/7/kspace.npy", "/download/7/", "/jobs/", "/jobs/3", "/jobs/3/logs", "/nothing/here"}) {
    CAPTURE(path);
    CHECK(quick_route("GET", path));
    CHECK(quick_route("HEAD", path));
  }
  CHECK(quick_route("OPTIONS", "/12"));
  for (const char* path : {"/jobs/3/wait", "/jobs/3/wait/", "/jobs/x/wait", "//jobs/3//wait", "/jobs/3/w%61it"}) {
    CAPTURE(path);
    CHECK_FALSE(quick_route("GET", path));
  }
  CHECK(quick_route("GET", "/jobs/wait"));  // a job id "wait": a plain read that answers 422
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
    CAPTURE(method);
    CHECK_FALSE(quick_route(method, "/12"));
    CHECK_FALSE(quick_route(method, "/"));
  }
}

// GET P/{id} writes its answer without building a Json (server/routes_workflows.cpp): the same
// bytes as dump(to_json(w)) whatever the strings hold.
TEST_CASE("a workflow's answer body equals its JSON dumped, for any strings") {
  using wfctl::server::workflow_body;
  const std::vector<std::optional<std::string>> strings = {
      "reco",      std::nullopt, "",           "only \"quotes\"", "only \\ a backslash", "only\x7f", "tab\there\nnewline\x01\x1f\x7f",
      "MRT-Rekonstruktion für Köpfe", "日本語", "bad \xff\xfe utf-8", "/slashes/ and <html> & 'single'"};
  for (const auto& s : strings) {
    wfctl::Workflow w;
    w.id = 123456789012;
    w.fields.name = s.value_or("n");
    w.fields.description = s;
    w.fields.version = s.value_or("1");
    w.fields.author = s;
    w.datetime_created = "2026-12-01T23:02:22.906990";
    w.datetime_updated = s ? std::optional<std::string>("2026-12-02T00:00:00.000001") : std::nullopt;
    for (const char* def : {R"({"b":[1,{"c":"d"}],"a":{}})", R"({"a": 1})", R"({"x":"\u00e9"})"}) {
      w.definition = wfctl::Definition::from_text(def);
      CAPTURE(s.value_or("(null)"), def);
      CHECK(workflow_body(w) == wfctl::server::dump(wfctl::to_json(w)));
    }
  }
}
