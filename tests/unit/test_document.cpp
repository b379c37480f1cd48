#include <catch2/catch.hpp>
#include <wfctl/error.hpp>
#include <wfctl/model/document.hpp>

#include "expect_error.hpp"

using namespace wfctl;
using wfctl::test::error_of;

namespace {
WorkflowDraft one(const std::string& text, MetaOverrides o = {}) {
  auto docs = parse_documents(text, "wf");
  REQUIRE(docs.size() == 1);
  return draft_from_document(docs.front(), o);
}

}  // namespace

TEST_CASE("a full JSON document becomes a draft with its meta fields", "[document]") {
  auto d = one(R"({"name":"reco","version":2,"author":null,"definition":{"b":1,"a":[1,2]},"extra":true})");
  CHECK(d.fields.name == "reco");
  CHECK(d.fields.version == "2");  // coerced like pydantic
  CHECK_FALSE(d.fields.author);
  CHECK_FALSE(d.fields.description);
  CHECK(d.definition.dump() == R"({"b":1,"a":[1,2]})");  // key order kept
}

TEST_CASE("YAML keeps meta scalars as written and resolves the definition's types", "[document]") {
  auto d = one("name: reco\nversion: 1.10\ndescription: ~\ndefinition:\n  n: 3\n  f: 1.5\n  s: '3'\n  t: true\n  z: null\n");
  CHECK(d.fields.version == "1.10");
  CHECK_FALSE(d.fields.description);
  CHECK(d.definition.dump() == R"({"n":3,"f":1.5,"s":"3","t":true,"z":null})");
}

TEST_CASE("a bare definition takes meta fields from flags, then from itself", "[document]") {
  auto d = one("tasks: []\n", MetaOverrides{"n", "v", "me", std::nullopt});
  CHECK(d.fields.name == "n");
  CHECK(d.fields.author == "me");
  CHECK(d.definition.dump() == R"({"tasks":[]})");

  auto monai = one("name: monai-reco\nversion: '1.0'\ndescription: d\ntasks: []\n");
  CHECK(monai.fields.name == "monai-reco");
  CHECK(monai.fields.version == "1.0");
  CHECK(monai.fields.description == "d");

  auto msg = error_of(ErrorKind::invalid_input, [] { one("tasks: []\n"); });
  CHECK(msg == "wf: name: field required; version: field required");
}

TEST_CASE("every problem of a document is an item in the REST contract's 422 shape", "[document]") {
  auto docs = parse_documents(R"({"description": 3, "author": [1], "definition": "x"})", "wf");
  try {
    draft_from_document(docs.at(0), {});
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_input);
    using Loc = decltype(ErrorItem::loc);
    REQUIRE(e.items().size() == 4);  // in field order, as the reference lists them
    CHECK(e.items()[0].loc == Loc{std::string("body"), std::string("name")});
    CHECK(e.items()[0].msg == "field required");
    CHECK(e.items()[0].type == "value_error.missing");
    CHECK(e.items()[1].loc == Loc{std::string("body"), std::string("version")});
    CHECK(e.items()[2].loc == Loc{std::string("body"), std::string("author")});
    CHECK(e.items()[2].type == "type_error.str");
    CHECK(e.items()[3].loc == Loc{std::string("body"), std::string("definition")});
    CHECK(e.items()[3].msg == "value is not a valid dict");
    CHECK(e.items()[3].type == "type_error.dict");
    CHECK(std::string(e.what()) ==
          "wf: name: field required; version: field required; author: must be a string, got an array; "
          "definition: must be a JSON object, got a string");
  }
  auto null_def = parse_documents(R"({"name": "a", "version": "1", "definition": null})", "wf");
  try {
    draft_from_document(null_def.at(0), {});
    FAIL("no error");
  } catch (const Error& e) {
    REQUIRE(e.items().size() == 1);
    CHECK(e.items()[0].type == "type_error.none.not_allowed");
  }
}

TEST_CASE("overrides win over the document", "[document]") {
  auto d = one(R"({"name":"a","version":"1","definition":{}})", MetaOverrides{"b", std::nullopt, std::nullopt, "x"});
  CHECK(d.fields.name == "b");
  CHECK(d.fields.description == "x");
}

TEST_CASE("a definition that is not an object is refused with its type named", "[document]") {
  CHECK(error_of(ErrorKind::invalid_input, [] { one(R"({"name":"a","version":"1","definition":[1]})"); }) ==
        "wf: definition: must be a JSON object, got an array");
  CHECK(error_of(ErrorKind::invalid_input, [] { one(R"({"name":"a","version":"1","definition":"x"})"); }) ==
        "wf: definition: must be a JSON object, got a string");
  CHECK(error_of(ErrorKind::invalid_input, [] { one(R"({"name":"a","version":"1","definition":null})"); }) ==
        "wf: definition: must be a JSON object, got null");
  CHECK(error_of(ErrorKind::invalid_input, [] { one("[[1, 2]]"); }) ==
        "wf: item 1: definition: must be a JSON object, got an array");
}

TEST_CASE("a top-level list is a list of documents, each named by its place", "[document]") {
  auto json = parse_documents(R"([{"name":"a","version":"1","definition":{}}, {"x": 1}])", "wf");
  REQUIRE(json.size() == 2);
  CHECK(json[0].where == "wf: item 1");
  CHECK(json[1].where == "wf: item 2");
  CHECK(json[1].value == Json{{"x", 1}});
  auto yaml = parse_documents("- name: a\n  version: '1'\n  definition: {}\n---\n- {b: 2}\n- {c: 3}\n", "wf");
  REQUIRE(yaml.size() == 3);
  CHECK(yaml[2].where == "wf: document 2: item 2");
  CHECK(draft_from_document(json[0], {}).fields.name == "a");
  CHECK(parse_documents("[]", "wf").empty());  // an empty store's listing
  CHECK(parse_documents("[]\n", "wf").empty());
  CHECK(error_of(ErrorKind::invalid_input, [] { parse_documents("---\n---\n", "wf"); }) == "wf: no document found");
  // A stored workflow listed without its definition (list --meta) is not a bare definition.
  auto meta = parse_documents(R"([{"name":"a","version":"1","id":3,"datetime_created":"2024-01-01T00:00:00"}])", "wf");
  CHECK(error_of(ErrorKind::invalid_input, [&] { draft_from_document(meta[0], {}); }) ==
        "wf: item 1: definition: field required (this is a stored workflow without its definition)");
}

TEST_CASE("missing or bad meta fields are named", "[document]") {
  CHECK(error_of(ErrorKind::invalid_input, [] { one(R"({"version":"1","definition":{}})"); }) ==
        "wf: name: field required");
  CHECK(error_of(ErrorKind::invalid_input, [] { one(R"({"name":"a","definition":{}})"); }) ==
        "wf: version: field required");
  CHECK(error_of(ErrorKind::invalid_input, [] { one(R"({"name":"","version":"1","definition":{}})"); }) ==
        "wf: name: must not be empty");
  CHECK(error_of(ErrorKind::invalid_input, [] { one(R"({"name":{"x":1},"version":"1","definition":{}})"); }) ==
        "wf: name: must be a string, got an object");
  CHECK(error_of(ErrorKind::invalid_input, [] { one(R"({"name":"a","version":true,"definition":{}})"); }) ==
        "wf: version: must be a string, got a boolean");
}

TEST_CASE("meta fields are one line without control characters", "[document]") {
  CHECK(error_of(ErrorKind::invalid_input, [] { one(R"({"name":"a\u0000b","version":"1","definition":{}})"); }) ==
        "wf: name: must be one line of UTF-8 without control characters");
  CHECK(error_of(ErrorKind::invalid_input, [] { one(R"({"name":"a","version":"1\n2","definition":{}})"); }) ==
        "wf: version: must be one line of UTF-8 without control characters");
  CHECK(error_of(ErrorKind::invalid_input, [] { one(R"({"name":"a","version":"1","author":"x\ty","definition":{}})"); }) ==
        "wf: author: must be one line of UTF-8 without control characters");
  CHECK(one(R"({"name":"a","version":"1","description":"two\nlines","definition":{}})").fields.description == "two\nlines");
}

TEST_CASE("malformed JSON and YAML report line and column", "[document]") {
  CHECK(error_of(ErrorKind::invalid_input, [] { parse_documents("{\n  \"a\": 1,\n  \"b\" 2\n}", "f.json"); })
            .rfind("f.json:3:", 0) == 0);
  auto yaml = error_of(ErrorKind::invalid_input, [] { parse_documents("name: a\n  bad: [1, 2\n", "f.yaml"); });
  CHECK(yaml.rfind("f.yaml:", 0) == 0);
  CHECK(yaml.find("invalid YAML") != std::string::npos);
  CHECK(error_of(ErrorKind::invalid_input, [] { parse_documents("  \n", "e"); }) ==
        "e: empty input: expected a JSON or YAML document");
}

TEST_CASE("a YAML stream holds several documents, each named in errors", "[document]") {
  auto docs = parse_documents("name: a\nversion: '1'\ndefinition: {}\n---\nname: b\nversion: '1'\ndefinition: 3\n", "s.yaml");
  REQUIRE(docs.size() == 2);
  CHECK(docs[1].where == "s.yaml: document 2");
  CHECK(error_of(ErrorKind::invalid_input, [&] { draft_from_document(docs[1], {}); }) ==
        "s.yaml: document 2: definition: must be a JSON object, got a number");
}

TEST_CASE("update replaces meta fields like PUT and the definition only when given", "[document]") {
  Workflow cur;
  cur.id = 1;
  cur.fields = {"a", std::string("desc"), "1", std::string("me")};
  cur.definition = Json::parse(R"({"x":1})");

  auto meta_only = parse_documents(R"({"name":"b","version":"2"})", "u");
  auto u = update_from(cur, &meta_only.front(), {});
  CHECK(u.fields.name == "b");
  CHECK_FALSE(u.fields.description);  // omitted optional becomes null, like the reference
  CHECK_FALSE(u.fields.author);
  CHECK_FALSE(u.definition);

  auto bare = parse_documents(R"({"tasks":[1]})", "u");
  auto u2 = update_from(cur, &bare.front(), {});
  CHECK(u2.fields == cur.fields);
  REQUIRE(u2.definition);
  CHECK(u2.definition->dump() == R"({"tasks":[1]})");

  auto u3 = update_from(cur, nullptr, MetaOverrides{std::nullopt, std::nullopt, std::nullopt, "new"});
  CHECK(u3.fields.description == "new");
  CHECK(u3.fields.author == "me");

  error_of(ErrorKind::usage, [&] { update_from(cur, nullptr, {}); });
}

TEST_CASE("WorkflowOut keys come in the reference's order", "[document]") {
  Workflow w;
  w.id = 3;
  w.fields = {"n", std::nullopt, "1", std::nullopt};
  w.datetime_created = "2024-02-24T09:09:16.560759";
  w.definition = Json::object();
  CHECK(to_json(w).dump() ==
        R"({"name":"n","description":null,"version":"1","author":null,"id":3,"datetime_created":"2024-02-24T09:09:16.560759","datetime_updated":null,"definition":{}})");
  CHECK(to_json(w, false).dump().find("definition") == std::string::npos);
}
