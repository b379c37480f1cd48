#include <catch2/catch.hpp>
#include <wfctl/model/workflow.hpp>
#include <wfctl/output/pretty_json.hpp>

using wfctl::Json;

namespace {
std::string pretty(const std::string& compact, unsigned indent = 0) {
  std::string out;
  wfctl::output::append_pretty_json(out, compact, indent);
  return out;
}
}  // namespace

TEST_CASE("re-indenting compact JSON gives exactly nlohmann's dump(2)", "[pretty]") {
  const char* docs[] = {
      R"({})",
      R"([])",
      R"({"a":{},"b":[],"c":[{}],"d":[[]]})",
      R"({"z":1,"a":[1,2.5,-3e-07,true,false,null],"s":"x, y: {z} [w]"})",
      R"({"esc":"quote \" backslash \\ tab \t nl \n u \u0001","k\"ey":"v"})",
      R"({"unicode":"Grüße 😀 ☃","nested":{"deep":{"deeper":{"x":[1,{"y":[]}]}}}})",
      R"([1,"two",{"three":3}])",
      R"("just a string")",
      R"(42)",
  };
  for (const char* text : docs) {
    Json j = Json::parse(text);
    INFO(text);
    CHECK(pretty(j.dump()) == j.dump(2));
  }
}

TEST_CASE("nested lines start at the given indentation and input whitespace is dropped", "[pretty]") {
  CHECK(pretty(R"({"a":[1,2]})", 4) == "{\n      \"a\": [\n        1,\n        2\n      ]\n    }");
  CHECK(pretty("{ \"a\" : [ 1 , 2 ] , \"b\" : { } }") == Json::parse(R"({"a":[1,2],"b":{}})").dump(2));
}
