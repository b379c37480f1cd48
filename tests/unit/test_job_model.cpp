// The job model: the reference's message byte for byte, its parser, handler templates.
#include <catch2/catch.hpp>
#include <wfctl/error.hpp>
#include <wfctl/jobs/handler.hpp>
#include <wfctl/model/job.hpp>

#include "expect_error.hpp"

using namespace wfctl;
using test::error_of;

TEST_CASE("jobs: the message is what Python's json.dumps prints", "[jobs]") {
  CHECK(reference_message(7, "records/7/kspace.npy") == R"({"record_id": 7, "input": "records/7/kspace.npy"})");
  // Expected from python3 -c 'import json; print(json.dumps({"record_id": 7, "input": ...}))'
  CHECK(reference_message(7, "records/7/k\xc3\xa9 \"x\"\\\n\xf0\x9f\x98\x80.npy") ==
        R"({"record_id": 7, "input": "records/7/k\u00e9 \"x\"\\\n\ud83d\ude00.npy"})");
  CHECK(reference_message(123456789012, "records/123456789012/a\tb\x01") ==
        R"({"record_id": 123456789012, "input": "records/123456789012/a\tb\u0001"})");
}

TEST_CASE("jobs: a message is parsed strictly", "[jobs]") {
  auto m = parse_reference_message(R"({"record_id": 7, "input": "records/7/kspace.npy"})");
  REQUIRE(m);
  CHECK(m->record_id == 7);
  CHECK(m->input == "records/7/kspace.npy");
  CHECK(parse_reference_message(R"({"input": "records/7/kspace.npy", "record_id": 7, "extra": 1})"));
  CHECK_FALSE(parse_reference_message("garbage"));
  CHECK_FALSE(parse_reference_message(R"({"record_id": "7", "input": "x"})"));
  CHECK_FALSE(parse_reference_message(R"({"record_id": 7.5, "input": "x"})"));
  CHECK_FALSE(parse_reference_message(R"({"record_id": -1, "input": "x"})"));
  CHECK_FALSE(parse_reference_message(R"({"record_id": 7})"));
  CHECK_FALSE(parse_reference_message(R"([7, "x"])"));
  CHECK_FALSE(parse_reference_message(""));
}

TEST_CASE("jobs: handler commands split like a shell but expand without one", "[jobs]") {
  Handler h = parse_handler(R"(reco --in {input} --out "{output}" 'a b' c\ d {{lit}})", "test");
  REQUIRE(h.words.size() == 8);
  auto argv = expand(h, {{"input", "/lake/records/7/k space;rm -rf ~.npy"}, {"output", "/tmp/o.dcm"}});
  // A value stays one argument, never a shell's words.
  CHECK(argv == std::vector<std::string>{"reco", "--in", "/lake/records/7/k space;rm -rf ~.npy", "--out", "/tmp/o.dcm",
                                         "a b", "c d", "{lit}"});
  CHECK_THAT(error_of(ErrorKind::usage, [] { parse_handler("reco {inputt}", "--handler x"); }),
             Catch::Contains("unknown placeholder {inputt}") && Catch::Contains("--handler x"));
  error_of(ErrorKind::usage, [] { parse_handler("reco 'open", "x"); });
  error_of(ErrorKind::usage, [] { parse_handler("   ", "x"); });
  error_of(ErrorKind::usage, [] { parse_handler("reco {input", "x"); });
  error_of(ErrorKind::usage, [] { parse_handler("reco }", "x"); });
}
