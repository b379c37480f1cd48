// wfctl/model/result: result files and where they are kept.
#include <catch2/catch.hpp>
#include <wfctl/model/result.hpp>

TEST_CASE("record paths are records/ID and records/ID/NAME", "[result]") {
  CHECK(wfctl::record_path(7) == "records/7");
  CHECK(wfctl::record_path(7, "kspace.npy") == "records/7/kspace.npy");
  CHECK(wfctl::record_path(42, wfctl::default_result_name(42)) == "records/42/record-42.dcm");
}
