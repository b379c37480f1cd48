// The pure parts of the remote backend: store URLs, the server's description, Retry-After,
// backoff, turning error answers into Errors, digests, and the client-side listing.
#include <catch2/catch.hpp>
#include <wfctl/store/remote/protocol.hpp>
#include <wfctl/store/remote/remote_store.hpp>

#include "expect_error.hpp"

using namespace wfctl;
using namespace wfctl::remote;
using test::error_of;

TEST_CASE("store URLs: host, port, prefix", "[remote]") {
  auto u = parse_remote_url("http://127.0.0.1:8080");
  CHECK(u.host == "127.0.0.1");
  CHECK(u.port == 8080);
  CHECK(u.prefix == "/api/v1/workflow");
  CHECK(u.base() == "http://127.0.0.1:8080/api/v1/workflow");
  CHECK(parse_remote_url("https://scanhub.example/").port == 443);
  CHECK(parse_remote_url("http://h/").port == 80);
  CHECK(parse_remote_url("http://h:1/wm/api/").prefix == "/wm/api");
  CHECK(parse_remote_url("http://[::1]:9/").host == "[::1]");
  CHECK(parse_remote_url("http://[::1]:9/").port == 9);
}

TEST_CASE("store URLs: credentials and junk are usage errors", "[remote]") {
  auto msg = error_of(ErrorKind::usage, [] { parse_remote_url("http://user:secret@h:1/"); });
  CHECK(msg.find("secret") == std::string::npos);
  CHECK(msg.find("credentials") != std::string::npos);
  error_of(ErrorKind::usage, [] { parse_remote_url("http://token@h/"); });
  error_of(ErrorKind::usage, [] { parse_remote_url("http://h:0/"); });
  error_of(ErrorKind::usage, [] { parse_remote_url("http://h:99999/"); });
  error_of(ErrorKind::usage, [] { parse_remote_url("http://h:x/"); });
  error_of(ErrorKind::usage, [] { parse_remote_url("http://h:/"); });
  error_of(ErrorKind::usage, [] { parse_remote_url("http:///p"); });
  error_of(ErrorKind::usage, [] { parse_remote_url("http://h/p?x=1"); });
  error_of(ErrorKind::usage, [] { parse_remote_url("ftp://h/"); });
}

TEST_CASE("server description: wfctl's capabilities, else the reference's", "[remote]") {
  auto ref = parse_server_info(422, R"({"detail":[{"loc":["path","workflow_id"]}]})");
  CHECK_FALSE(ref.is_wfctl);
  CHECK(ref.capabilities.arbitrary_result_names);
  CHECK_FALSE(ref.capabilities.result_listing);
  CHECK_FALSE(ref.capabilities.definition_update);
  CHECK_FALSE(ref.capabilities.result_deletion);
  CHECK_FALSE(ref.capabilities.job_queue);
  CHECK_FALSE(ref.capabilities.stored_digests);
  CHECK_FALSE(ref.capabilities.multi_object_transactions);
  CHECK_FALSE(parse_server_info(404, R"({"detail":"Not Found"})").is_wfctl);
  CHECK_FALSE(parse_server_info(200, R"({"name":"other"})").is_wfctl);
  CHECK_FALSE(parse_server_info(200, "not json").is_wfctl);
  auto w = parse_server_info(200, R"({"name":"wfctl","version":"0.1.0","api":1,"capabilities":{
      "multi_object_transactions":true,"result_listing":true,"arbitrary_result_names":true,"stored_digests":true,
      "definition_update":false,"result_deletion":true,"job_queue":"yes"}})");
  CHECK(w.is_wfctl);
  CHECK(w.version == "0.1.0");
  CHECK(w.capabilities.multi_object_transactions);
  CHECK(w.capabilities.stored_digests);
  CHECK_FALSE(w.capabilities.definition_update);
  CHECK_FALSE(w.capabilities.job_queue);  // not a boolean: not claimed
}

TEST_CASE("Retry-After: seconds or an HTTP date, capped", "[remote]") {
  using namespace std::chrono;
  const auto cap = milliseconds(30000);
  const auto now = system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(parse_retry_after("1", now, cap) == milliseconds(1000));
  CHECK(parse_retry_after(" 0 ", now, cap) == milliseconds(0));
  CHECK(parse_retry_after("3600", now, cap) == cap);
  CHECK(parse_retry_after("99999999999999999999999", now, cap) == cap);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now, cap) == milliseconds(10000));
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now, cap) == milliseconds(0));
  CHECK(parse_retry_after("Mon, 07 Nov 1994 08:49:37 GMT", now, cap) == cap);
  CHECK_FALSE(parse_retry_after("soon", now, cap));
  CHECK_FALSE(parse_retry_after("-1", now, cap));
  CHECK_FALSE(parse_retry_after("1.5", now, cap));
  CHECK_FALSE(parse_retry_after("", now, cap));
}

TEST_CASE("backoff: full jitter below a doubling ceiling, capped", "[remote]") {
  using std::chrono::milliseconds;
  std::mt19937_64 rng(42);
  for (int attempt = 0; attempt < 12; ++attempt) {
    milliseconds ceiling = std::min(milliseconds(5000), milliseconds(200 << std::min(attempt, 10)));
    milliseconds most{0};
    for (int i = 0; i < 200; ++i) {
      auto d = backoff_delay(attempt, milliseconds(200), milliseconds(5000), rng);
      CHECK(d >= milliseconds(0));
      CHECK(d <= ceiling);
      most = std::max(most, d);
    }
    CHECK(most > ceiling / 2);  // jitter spreads over the whole range
  }
}

TEST_CASE("only idempotent methods and transient statuses are retried", "[remote]") {
  CHECK(is_idempotent("GET"));
  CHECK(is_idempotent("PUT"));
  CHECK(is_idempotent("DELETE"));
  CHECK(is_idempotent("HEAD"));
  CHECK_FALSE(is_idempotent("POST"));
  for (long s : {429L, 502L, 503L, 504L}) CHECK(is_retryable_status(s));
  for (long s : {200L, 400L, 404L, 409L, 422L, 500L, 501L}) CHECK_FALSE(is_retryable_status(s));
}

TEST_CASE("error answers become the library's kinds", "[remote]") {
  CHECK(kind_for_status(404) == ErrorKind::not_found);
  CHECK(kind_for_status(401) == ErrorKind::permission);
  CHECK(kind_for_status(403) == ErrorKind::permission);
  CHECK(kind_for_status(409) == ErrorKind::conflict);
  CHECK(kind_for_status(413) == ErrorKind::invalid_input);
  CHECK(kind_for_status(422) == ErrorKind::invalid_input);
  CHECK(kind_for_status(501) == ErrorKind::not_supported);
  CHECK(kind_for_status(500) == ErrorKind::unavailable);
  CHECK(kind_for_status(503) == ErrorKind::unavailable);
}

TEST_CASE("a 422 detail list becomes one item per entry", "[remote]") {
  auto e = error_for_response(422, R"({"detail":[
      {"loc":["body","name"],"msg":"field required","type":"value_error.missing"},
      {"loc":["body",8],"msg":"Expecting value","type":"value_error.jsondecode","ctx":{}}]})",
                              std::nullopt, "http://h:1/api/v1/workflow", "creating workflow a");
  CHECK(e.kind() == ErrorKind::invalid_input);
  REQUIRE(e.items().size() == 2);
  CHECK(e.items()[0].loc == std::vector<std::variant<std::string, std::int64_t>>{std::string("body"), std::string("name")});
  CHECK(e.items()[0].msg == "field required");
  CHECK(e.items()[0].type == "value_error.missing");
  CHECK(e.items()[0].text == "body.name: field required");
  CHECK(std::get<std::int64_t>(e.items()[1].loc[1]) == 8);
  CHECK(std::string(e.what()) == "creating workflow a: http://h:1/api/v1/workflow answered 422: body.name: field required; "
                                 "body.8: Expecting value");
  auto plain = error_for_response(404, R"({"detail":"Workflow not found"})", std::nullopt, "S", "workflow 9");
  CHECK(plain.kind() == ErrorKind::not_found);
  CHECK(std::string(plain.what()) == "workflow 9: S answered 404: Workflow not found");
  CHECK(plain.items().empty());
  auto text = error_for_response(500, "Internal Server Error", std::nullopt, "S", "x");
  CHECK(std::string(text.what()) == "x: S answered 500: Internal Server Error");
  auto redirect = error_for_response(307, "", std::string("http://testserver/api/v1/workflow/"), "S", "creating");
  CHECK(redirect.kind() == ErrorKind::unavailable);
  CHECK(std::string(redirect.what()).find("http://testserver/api/v1/workflow/") != std::string::npos);
}

TEST_CASE("digests from Repr-Digest or an ETag", "[remote]") {
  const std::string empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  CHECK(response_sha256(std::string("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"), std::nullopt) == empty);
  CHECK(response_sha256(std::string("sha-512=:AAAA:, sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"),
                        std::nullopt) == empty);
  CHECK(response_sha256(std::nullopt, "\"" + empty + "\"") == empty);
  CHECK(response_sha256(std::nullopt, std::string("W/\"abc\"")).empty());
  CHECK(response_sha256(std::nullopt, std::nullopt).empty());
  CHECK(base64_decode("aGk=") == std::string("hi"));
  CHECK_FALSE(base64_decode("a=bc"));
  CHECK_FALSE(base64_decode("abc"));
}

TEST_CASE("a reference server's list is filtered, sorted and paged on the client", "[remote]") {
  auto wf = [](WorkflowId id, std::string name, std::optional<std::string> author) {
    Workflow w;
    w.id = id;
    w.fields = {std::move(name), std::nullopt, "1", std::move(author)};
    w.datetime_created = "2024-01-0" + std::to_string(id);
    return w;
  };
  std::vector<Workflow> all = {wf(1, "b", "x"), wf(2, "a", std::nullopt), wf(3, "a", "y"), wf(4, "c", "x")};
  auto ids = [](const std::vector<Workflow>& ws) {
    std::vector<WorkflowId> out;
    for (const auto& w : ws) out.push_back(w.id);
    return out;
  };
  ListQuery q;
  CHECK(ids(apply_query(all, q)) == std::vector<WorkflowId>{1, 2, 3, 4});
  q.sort_by = SortKey::name;
  CHECK(ids(apply_query(all, q)) == std::vector<WorkflowId>{2, 3, 1, 4});
  q.descending = true;
  CHECK(ids(apply_query(all, q)) == std::vector<WorkflowId>{4, 1, 3, 2});  // ties by id, descending too
  q = {};
  q.sort_by = SortKey::author;  // NULL first ascending, as SQLite
  CHECK(ids(apply_query(all, q)) == std::vector<WorkflowId>{2, 1, 4, 3});
  q.author = "x";
  CHECK(ids(apply_query(all, q)) == std::vector<WorkflowId>{1, 4});
  q = {};
  q.offset = 1;
  q.limit = 2;
  CHECK(ids(apply_query(all, q)) == std::vector<WorkflowId>{2, 3});
  q.offset = 9;
  CHECK(apply_query(all, q).empty());
}
