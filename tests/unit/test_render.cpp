// wfctl/output/render: the streaming JSON list and to_json follow one WorkflowOut key order.
#include <catch2/catch.hpp>
#include <sstream>
#include <vector>
#include <wfctl/model/workflow.hpp>
#include <wfctl/output/render.hpp>

using wfctl::Json;
using wfctl::Workflow;
namespace output = wfctl::output;

namespace {

std::vector<Workflow> sample() {
  Workflow full;
  full.id = 7;
  full.fields = {"cartesian", "FFT \"reco\"\n", "1.0", "Jörg"};
  full.datetime_created = "2024-01-02T03:04:05.000006";
  full.datetime_updated = "2024-02-03T04:05:06.000007";
  full.definition = Json::parse(R"({"steps": [{"name": "fft", "args": {"axes": [0, 1]}}], "x": null})");
  Workflow bare;
  bare.id = 8;
  bare.fields.name = "bare";
  bare.fields.version = "2";
  bare.datetime_created = "2024-01-02T03:04:05.000000";
  bare.definition = wfctl::Definition::from_text(R"({"b":[1,{"c":"d"}],"a":{}})");  // as a store lists it, unparsed
  return {full, bare};
}

}  // namespace

TEST_CASE("the JSON list of workflows is print_json of their to_json, member for member", "[render]") {
  for (const bool meta_only : {false, true}) {
    INFO(meta_only);
    const std::vector<Workflow> list = sample();
    Json expected = Json::array();
    for (const auto& w : list) expected.push_back(wfctl::to_json(w, !meta_only));
    std::ostringstream streamed, whole;
    output::print_workflows(streamed, list, {output::Format::json, false}, meta_only);
    output::print_json(whole, expected);
    CHECK(streamed.str() == whole.str());
  }
  const Json j = wfctl::to_json(sample()[1]);
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  CHECK(keys == std::vector<std::string>{"name", "description", "version", "author", "id", "datetime_created",
                                         "datetime_updated", "definition"});
  CHECK(j["description"].is_null());
  CHECK(j["definition"] == Json::parse(*sample()[1].definition.text()));
}
