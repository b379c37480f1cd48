// create, get, list, update, delete, apply: bind options, call the library, print.
#include <algorithm>
#include <iostream>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <wfctl/error.hpp>
#include <wfctl/ops/workflows.hpp>

#include "cli.hpp"

namespace wfctl::cli {

namespace {

void add_meta_flags(CLI::App* cmd, MetaOverrides& m) {
  cmd->add_option("--name", m.name, "Workflow name (overrides the document)");
  cmd->add_option("--version", m.version, "Workflow version (overrides the document)");
  cmd->add_option("--author", m.author, "Author (overrides the document)");
  cmd->add_option("--description", m.description, "Description (overrides the document)");
}

// What create and apply read: -f FILE|- and the meta overrides.
struct DocumentInput {
  std::string file;
  MetaOverrides meta;
};

std::shared_ptr<DocumentInput> bind_document_input(CLI::App* cmd, const char* help) {
  auto o = std::make_shared<DocumentInput>();
  cmd->add_option("-f,--filename", o->file, help)->required()->type_name("FILE|-");
  add_meta_flags(cmd, o->meta);
  return o;
}

void add_create(CLI::App& app, AppContext& ctx) {
  auto* cmd = app.add_subcommand("create", "Create workflows from a JSON or YAML file (- for stdin)");
  auto o = bind_document_input(cmd, "Workflow document(s) or bare definition; - reads stdin");
  example(cmd, "wfctl create -f examples/cartesian-reco.json\nwfctl create -f - --name fft --version 1 < definition.json");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      auto out = ctx.output();
      auto drafts = load_drafts(o->file, o->meta);
      // Printed before the commit: when stdout cannot take the new ids (a full disk, a closed
      // pipe) nothing is stored, so that a retry does not create the workflows twice.
      create_workflows(ctx.store(), drafts,
                       {ctx.cancel(), print_before_commit<std::vector<Workflow>>([out](std::ostream& text, const auto& created) {
                          output::print_changed(text, created, std::vector<std::string>(created.size(), "created"), out);
                        })});
    };
  });
}

void add_get(CLI::App& app, AppContext& ctx) {
  struct Opts {
    std::string id;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("get", "Show one workflow (-o json prints the reference's WorkflowOut)");
  cmd->add_option("ID", o->id, "Workflow id")->required();
  example(cmd, "wfctl get 7 -o json");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      auto out = ctx.output();
      auto id = parse_id(o->id, "workflow id");
      auto w = ctx.store().find_workflow(id);
      if (!w) throw Error(ErrorKind::not_found, "workflow " + std::to_string(id) + " not found");
      output::print_workflow(std::cout, *w, out);
    };
  });
}

void add_list(CLI::App& app, AppContext& ctx) {
  struct Opts {
    ListQuery query;
    std::string sort_by = "id";
    bool meta = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("list", "List workflows");
  cmd->alias("ls");
  cmd->add_flag("--meta", o->meta, "Meta fields only (the reference's WorkflowMetaOut)");
  cmd->add_option("--name", o->query.name, "Only workflows with this exact name");
  cmd->add_option("--author", o->query.author, "Only workflows by this exact author");
  cmd->add_option("--version", o->query.version, "Only workflows with this exact version");
  cmd->add_option("--sort-by", o->sort_by, fmt::format("Order: {}", fmt::join(sort_key_names(), ", ")))
      ->default_str("id");
  cmd->add_flag("--reverse", o->query.descending, "Reverse the order");
  cmd->add_option("--limit", o->query.limit, "At most N workflows")->check(positive());
  cmd->add_option("--offset", o->query.offset, "Skip the first N workflows (paging with --limit)")->check(non_negative());
  example(cmd, "wfctl list -o wide --sort-by name\nwfctl list -o yaml | wfctl --store backup apply -f -");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      auto out = ctx.output();
      auto q = o->query;
      try {
        q.sort_by = parse_sort_key(o->sort_by);
      } catch (const Error& e) {
        throw Error(ErrorKind::usage, fmt::format("invalid --sort-by '{}'", o->sort_by), e.hint());
      }
      // Tables and names never show definitions: do not read them.
      q.with_definition = !o->meta && output::is_structured(out.format);
      output::print_workflows(std::cout, ctx.store().list_workflows(q), out, o->meta);
    };
  });
}

void add_update(CLI::App& app, AppContext& ctx) {
  struct Opts {
    std::string id;
    std::optional<std::string> file;
    MetaOverrides meta;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("update", "Replace a workflow's meta fields and, from a file, its definition");
  cmd->add_option("ID", o->id, "Workflow id")->required();
  cmd->add_option("-f,--filename", o->file, "Document with the new fields and/or definition; - reads stdin")
      ->type_name("FILE|-");
  add_meta_flags(cmd, o->meta);
  example(cmd, "wfctl update 7 --description \"inverse FFT\"\nwfctl update 7 -f cartesian-reco.yaml");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      auto out = ctx.output();
      auto id = parse_id(o->id, "workflow id");
      ctx.hint(ErrorKind::usage, "give -f FILE or one of --name, --version, --author, --description");
      update_workflow(ctx.store(), id, o->file, o->meta,
                      {ctx.cancel(), print_before_commit<Workflow>([out](std::ostream& text, const Workflow& w) {
                         output::print_changed(text, {w}, {"updated"}, out);
                       })});
    };
  });
}

void add_delete(CLI::App& app, AppContext& ctx) {
  struct Opts {
    std::vector<std::string> ids;
    bool ignore_not_found = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("delete", "Delete workflows (all or none)");
  cmd->alias("rm");
  cmd->add_option("ID", o->ids, "Workflow ids")->required();
  cmd->add_flag("--ignore-not-found", o->ignore_not_found, "Succeed when an id does not exist");
  example(cmd, "wfctl delete 7 8 --ignore-not-found");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      auto out = ctx.output();
      std::vector<WorkflowId> ids;
      for (const auto& s : o->ids) {
        auto id = parse_id(s, "workflow id");
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);  // `delete 9 9` is `delete 9`
      }
      delete_workflows(ctx.store(), ids, o->ignore_not_found,
                       {ctx.cancel(), print_before_commit<std::vector<WorkflowId>>([out](std::ostream& text, const auto& deleted) {
                          for (auto id : deleted) {
                            if (out.format == output::Format::name) text << id << '\n';
                            else text << "workflow/" << id << " deleted\n";
                          }
                        })});
    };
  });
}

void add_apply(CLI::App& app, AppContext& ctx) {
  auto* cmd = app.add_subcommand("apply", "Create or update workflows keyed by (name, version)");
  auto o = bind_document_input(cmd, "Workflow document(s); a YAML stream may hold many; - reads stdin");
  example(cmd, "wfctl apply -f examples/workflows.yaml\nwfctl --store old list -o yaml | wfctl --store new apply -f -");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      auto out = ctx.output();
      apply_workflows(ctx.store(), load_drafts(o->file, o->meta),
                      {ctx.cancel(), print_before_commit<std::vector<ApplyOutcome>>([out](std::ostream& text, const auto& outcomes) {
                         std::vector<Workflow> list;
                         std::vector<std::string> verbs;
                         for (const auto& r : outcomes) {
                           list.push_back(r.workflow);
                           verbs.push_back(to_string(r.action));
                         }
                         output::print_changed(text, list, verbs, out);
                       })});
    };
  });
}

}  // namespace

void add_workflow_commands(CLI::App& app, AppContext& ctx) {
  add_create(app, ctx);
  add_get(app, ctx);
  add_list(app, ctx);
  add_update(app, ctx);
  add_delete(app, ctx);
  add_apply(app, ctx);
}

}  // namespace wfctl::cli
