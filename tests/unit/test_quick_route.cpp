#include <catch2/catch.hpp>
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
  for (const char* path : {"/jobs/3/wait", "/jobs/3/wait/", "/jobs/x/wait"}) {
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
