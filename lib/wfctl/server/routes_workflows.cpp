// Workflow routes: the reference's CRUD (POST /, GET /{id}, GET /, GET /meta/, PUT /{id}/,
// DELETE /{id}) and the extensions: list filters and paging, PUT with a definition, batch,
// apply and delete of several workflows, all or nothing.
#include <fmt/format.h>

#include <cctype>
#include <wfctl/model/document.hpp>
#include <wfctl/ops/workflows.hpp>

#include "http.hpp"

namespace wfctl::server {

namespace {

const char* const k_workflow_not_found = "Workflow not found";

template <typename T>
WriteCall<T> call(Context& ctx) {
  return WriteCall<T>{ctx.requests.child(), {}};
}

ListQuery list_query(const Request& req, bool with_definition) {
  ListQuery q;
  q.with_definition = with_definition;
  q.name = query_string(req, "name");
  q.author = query_string(req, "author");
  q.version = query_string(req, "version");
  if (auto s = query_string(req, "sort_by")) q.sort_by = parse_sort_key(*s);
  if (auto o = query_string(req, "order")) {
    if (*o != "asc" && *o != "desc")
      throw invalid(fmt::format("invalid order '{}': use asc or desc", *o), Loc{std::string("query"), std::string("order")},
                    "value is not a valid enumeration member; permitted: 'asc', 'desc'", "type_error.enum");
    q.descending = *o == "desc";
  }
  q.limit = query_int(req, "limit");
  q.offset = query_int(req, "offset");
  check(q);
  return q;
}

void list(Context& ctx, Route& r, bool with_definition) {
  auto q = list_query(r.req, with_definition);
  Json out = Json::array();
  for (const auto& w : ctx.store.list_workflows(q)) out.push_back(to_json(w, with_definition));
  send_json(r.res, 200, out);
}

// An array body of WorkflowIn drafts; items are located at ["body", INDEX, FIELD].
std::optional<std::vector<WorkflowDraft>> drafts_body(Route& r) {
  auto body = json_body(r.req, r.res);
  if (!body) return std::nullopt;
  if (!body->is_array())
    throw invalid("request body: value is not a valid list", Loc{std::string("body")}, "value is not a valid list",
                  "type_error.list");
  std::vector<WorkflowDraft> drafts;
  std::vector<ErrorItem> items;
  std::optional<Error> first;
  for (std::size_t i = 0; i < body->size(); ++i) {
    try {
      drafts.push_back(draft_from_workflow_in((*body)[i], fmt::format("request body: item {}", i)));
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::invalid_input) throw;
      Error located = at_index(e, static_cast<std::int64_t>(i));
      if (!first) first = located;
      items.insert(items.end(), located.items().begin(), located.items().end());
    }
  }
  if (first) throw Error(ErrorKind::invalid_input, first->what(), {}, items);
  return drafts;
}

void create(Context& ctx, Route& r) {
  auto body = json_body(r.req, r.res);
  if (!body) return;
  if (!body->is_object())
    throw invalid("request body: value is not a valid dict", Loc{std::string("body")}, "value is not a valid dict",
                  "type_error.dict");
  auto draft = draft_from_workflow_in(*body, "request body");
  auto created = create_workflows(ctx.store, {draft}, call<std::vector<Workflow>>(ctx));
  send_json(r.res, 201, to_json(created.front()));
}

// True when `text` is what dumping its parsed value gives back: no whitespace between tokens,
// no escape or exponent that dumping would spell otherwise. A backend stores definitions as
// compact dumps; text written behind its back (the sqlite3 CLI) may not be.
bool canonical_compact(std::string_view text) {
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '"') in_string = false;
      else if (c == '\\') {
        if (++i >= text.size() || text[i] == '/' || text[i] == 'u') return false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      return false;
    } else if ((c == 'e' || c == 'E') && i > 0 && (std::isdigit(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '.')) {
      return false;  // an exponent (outside strings, other letters spell true, false, null)
    }
  }
  return !text.empty() && !in_string;
}

// A JSON string exactly as dump() writes it: printable ASCII other than '"' and '\\' (nearly
// every name, version and date) is copied; anything else is left to nlohmann (its escapes, and
// invalid UTF-8 replaced).
void append_json_string(std::string& out, const std::string& s) {
  const bool plain = std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
  });
  if (!plain) {
    out += dump(Json(s));
    return;
  }
  out += '"';
  out += s;
  out += '"';
}

}  // namespace

// The members are written straight into the body rather than built as a Json only to be
// dumped (about a tenth of the CPU of a GET by id), and the stored compact definition goes out
// as it is, instead of being parsed and dumped again.
std::string workflow_body(const Workflow& w) {
  const std::string* text = w.definition.text();
  if (!text || !canonical_compact(*text)) return dump(to_json(w));
  std::string body;
  body.reserve(256 + text->size());
  body += '{';
  for_each_workflow_out_member(w, false, [&body](const char* key, const auto& value) {
    using T = std::decay_t<decltype(value)>;
    if (body.size() > 1) body += ',';
    body += '"';
    body += key;  // a literal of plain ASCII
    body += "\":";
    if constexpr (std::is_same_v<T, std::string>) {
      append_json_string(body, value);
    } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
      if (value) append_json_string(body, *value);
      else body += "null";
    } else {
      static_assert(std::is_integral_v<T> || std::is_same_v<T, Definition>, "a member workflow_body does not know");
      if constexpr (std::is_integral_v<T>) body += std::to_string(value);  // the definition is not asked for
    }
  });
  body += ",\"definition\":";
  body += *text;
  body += '}';
  return body;
}

namespace {

void send_workflow(Response& res, int status, const Workflow& w) {
  res.status = status;
  res.content_type = "application/json";
  res.body = workflow_body(w);
}

// A workflow's answer is kept when the store had one version from before the read to after
// it (nothing was committed in between, so the read saw that version), and given again while
// the store keeps that version: a read transaction costs most of such a GET.
void get(Context& ctx, Route& r, const std::string& id_text) {
  auto id = path_id(id_text, "workflow_id");
  const auto before = ctx.store.data_version();
  if (before && ctx.answers.find(id, *before, r.res.body)) {
    r.res.status = 200;
    r.res.content_type = "application/json";
    return;
  }
  auto w = ctx.store.find_workflow(id);
  if (!w) return send_detail(r.res, 404, k_workflow_not_found);
  send_workflow(r.res, 200, *w);
  if (before && ctx.store.data_version() == before) ctx.answers.keep(id, *before, r.res.body);
}

void put(Context& ctx, Route& r, const std::string& id_text) {
  // FastAPI validates the path and the body together: every problem in one answer.
  std::vector<ErrorItem> items;
  std::optional<Error> first;
  auto collect = [&](const Error& e) {
    if (e.kind() != ErrorKind::invalid_input) throw e;
    if (!first) first = e;
    items.insert(items.end(), e.items().begin(), e.items().end());
  };
  std::int64_t id = 0;
  try {
    id = path_id(id_text, "workflow_id");
  } catch (const Error& e) {
    collect(e);
  }
  std::optional<Json> body;
  try {
    body = json_body(r.req, r.res);
    if (!body && !first) return;  // answered (413)
    if (body && !body->is_object())
      throw invalid("request body: value is not a valid dict", Loc{std::string("body")}, "value is not a valid dict",
                    "type_error.dict");
  } catch (const Error& e) {
    collect(e);
  }
  std::optional<WorkflowUpdate> update;
  if (body && body->is_object()) {
    try {
      update = WorkflowUpdate{fields_from_base_workflow(*body, "request body"), std::nullopt};
    } catch (const Error& e) {
      collect(e);
    }
    // The extension: a definition given replaces the stored one; it must be an object.
    auto d = body->find("definition");
    if (d != body->end()) {
      const Loc loc{std::string("body"), std::string("definition")};
      if (d->is_null())
        collect(invalid("request body: definition: none is not an allowed value", loc, "none is not an allowed value",
                        "type_error.none.not_allowed"));
      else if (!d->is_object())
        collect(invalid("request body: definition: value is not a valid dict", loc, "value is not a valid dict",
                        "type_error.dict"));
      else if (update)
        update->definition = *d;
    }
  }
  if (first) throw Error(ErrorKind::invalid_input, first->what(), {}, items);
  if (!update) return;
  if (update->definition) require(ctx.store, Capability::definition_update, "replacing a workflow's definition");
  auto w = ctx.store.update_workflow(id, *update, call<Workflow>(ctx));
  send_json(r.res, 200, to_json(w));
}

void remove(Context& ctx, Route& r, const std::string& id_text) {
  auto id = path_id(id_text, "workflow_id");
  delete_workflows(ctx.store, {id}, false, call<std::vector<WorkflowId>>(ctx));
  r.res.status = 204;
}

void batch(Context& ctx, Route& r) {
  auto drafts = drafts_body(r);
  if (!drafts) return;
  Json out = Json::array();
  if (!drafts->empty())
    for (const auto& w : create_workflows(ctx.store, *drafts, call<std::vector<Workflow>>(ctx))) out.push_back(to_json(w));
  send_json(r.res, 201, out);
}

void apply(Context& ctx, Route& r) {
  auto drafts = drafts_body(r);
  if (!drafts) return;
  Json out = Json::array();
  if (!drafts->empty())
    for (const auto& o : apply_workflows(ctx.store, *drafts, call<std::vector<ApplyOutcome>>(ctx)))
      out.push_back(Json{{"action", std::string(to_string(o.action))}, {"workflow", to_json(o.workflow)}});
  send_json(r.res, 200, out);
}

// {"ids": [1, 2], "ignore_not_found": false}
void delete_many(Context& ctx, Route& r) {
  auto body = json_body(r.req, r.res);
  if (!body) return;
  if (!body->is_object())
    throw invalid("request body: value is not a valid dict", Loc{std::string("body")}, "value is not a valid dict",
                  "type_error.dict");
  std::vector<WorkflowId> ids;
  const Loc ids_loc{std::string("body"), std::string("ids")};
  auto it = body->find("ids");
  if (it == body->end()) throw invalid("request body: ids: field required", ids_loc, "field required", "value_error.missing");
  if (!it->is_array())
    throw invalid("request body: ids: value is not a valid list", ids_loc, "value is not a valid list", "type_error.list");
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& v = (*it)[i];
    if (!v.is_number_integer())
      throw invalid(fmt::format("request body: ids: item {}: value is not a valid integer", i),
                    Loc{std::string("body"), std::string("ids"), static_cast<std::int64_t>(i)},
                    "value is not a valid integer", "type_error.integer");
    ids.push_back(v.get<std::int64_t>());
  }
  bool ignore = false;
  auto ign = body->find("ignore_not_found");
  if (ign != body->end() && !ign->is_null()) {
    if (!ign->is_boolean())
      throw invalid("request body: ignore_not_found: value could not be parsed to a boolean",
                    Loc{std::string("body"), std::string("ignore_not_found")}, "value could not be parsed to a boolean",
                    "type_error.bool");
    ignore = ign->get<bool>();
  }
  std::vector<WorkflowId> deleted;
  if (!ids.empty()) deleted = delete_workflows(ctx.store, ids, ignore, call<std::vector<WorkflowId>>(ctx));
  send_json(r.res, 200, Json{{"deleted", deleted}});
}

}  // namespace

bool route_workflows(Context& ctx, Route& r) {
  const auto& seg = r.seg;
  auto& res = r.res;
  try {
    if (seg.empty()) {
      if (r.get()) return list(ctx, r, true), true;
      if (r.is("POST")) return create(ctx, r), true;
      return method_not_allowed(res), true;
    }
    if (seg.size() == 1 && seg[0] == "meta") {
      if (r.get()) return list(ctx, r, false), true;
      return method_not_allowed(res), true;
    }
    if (seg.size() == 1 && (seg[0] == "batch" || seg[0] == "apply" || seg[0] == "delete")) {
      if (!r.is("POST")) return method_not_allowed(res), true;
      if (seg[0] == "batch") batch(ctx, r);
      else if (seg[0] == "apply") apply(ctx, r);
      else delete_many(ctx, r);
      return true;
    }
    if (seg.size() == 1) {
      if (r.get()) return get(ctx, r, seg[0]), true;
      if (r.is("PUT")) return put(ctx, r, seg[0]), true;
      if (r.is("DELETE")) return remove(ctx, r, seg[0]), true;
      return method_not_allowed(res), true;
    }
  } catch (const Error& e) {
    const bool single = seg.size() == 1 && seg[0] != "batch" && seg[0] != "apply" && seg[0] != "meta";
    send_error(res, e, single && seg[0] != "delete" ? k_workflow_not_found : "");
    return true;
  }
  return false;
}

}  // namespace wfctl::server
