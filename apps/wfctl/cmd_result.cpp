// result upload | list | download | delete | image | info | export | echo | send
#include <unistd.h>

#include <algorithm>
#include <fmt/format.h>
#include <iostream>
#include <wfctl/error.hpp>
#include <wfctl/ops/results.hpp>
#include <wfctl/ops/workflows.hpp>

#include "cli.hpp"
#include "progress.hpp"

namespace wfctl::cli {

namespace {

void add_upload(CLI::App& group, AppContext& ctx) {
  struct Opts {
    std::string record, file;
    std::optional<std::string> name;
    bool force = false, dicom = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = group.add_subcommand("upload", "Store a file at records/RECORD/NAME (atomic, streamed, sha256 recorded)");
  cmd->add_option("RECORD", o->record, "Record id")->required();
  cmd->add_option("FILE", o->file, "File to upload; - reads stdin (needs --name)")->required()->type_name("FILE|-");
  cmd->add_option("--name", o->name, "Stored file name (default: FILE's base name)");
  cmd->add_flag("--force", o->force, "Replace an existing file");
  cmd->add_flag("--dicom", o->dicom, "Validate as DICOM even without a .dcm name");
  example(cmd, "wfctl result upload 7 kspace.npy\nwfctl result upload 7 - --name record-7.dcm < result.dcm");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      auto out = ctx.output();
      UploadRequest r{parse_id(o->record, "record id"), o->file, o->name, o->force, o->dicom, {}, {}};
      Progress bar("uploading");
      r.progress = bar.callback();
      r.before_commit = print_before_commit<ResultFile>([out, &bar](std::ostream& text, const ResultFile& f) {
        bar.clear();
        if (out.format == output::Format::table || out.format == output::Format::wide)
          text << fmt::format("{} uploaded: {} bytes, sha256 {}\n",
                              record_path(f.record_id, f.name), f.size, f.sha256);
        else
          output::print_result(text, f, out);
      });
      upload_result(ctx.store(), r);
    };
  });
}

void add_list(CLI::App& group, AppContext& ctx) {
  auto record = std::make_shared<std::optional<std::string>>();
  auto* cmd = group.add_subcommand("list", "List stored files with size, sha256 and time");
  cmd->alias("ls");
  cmd->add_option("RECORD", *record, "Only this record");
  example(cmd, "wfctl result list 7 -o wide");
  cmd->callback([record, &ctx] {
    ctx.action = [record, &ctx] {
      auto out = ctx.output();
      std::optional<RecordId> id;
      if (*record) id = parse_id(**record, "record id");
      output::print_results(std::cout, ctx.store().list_results(id), out);
    };
  });
}

void add_download(CLI::App& group, AppContext& ctx) {
  struct Opts {
    std::string record, name, output = "-";
    bool force = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = group.add_subcommand("download", "Write a stored file (default record-RECORD.dcm) to stdout or a path");
  cmd->add_option("RECORD", o->record, "Record id")->required();
  cmd->add_option("--file", o->name, "Stored file name (default: record-RECORD.dcm)");
  cmd->add_option("-O,--output-file", o->output, "Where to write: a path, a directory, or - for stdout")
      ->default_str("-");
  cmd->add_flag("--force", o->force, "Overwrite an existing output file");
  example(cmd, "wfctl result download 7 -O record-7.dcm\nwfctl result download 7 --file kspace.npy -O data/");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      auto id = parse_id(o->record, "record id");
      if (o->output == "-" && ::isatty(STDOUT_FILENO) == 1)
        throw Error(ErrorKind::usage, "refusing to write binary data to a terminal", "use -O PATH or redirect stdout");
      Progress bar("downloading");
      DownloadRequest r{id, o->name, o->output, o->force, bar.callback()};
      download_result(ctx.store(), r);
    };
  });
}

void add_delete(CLI::App& group, AppContext& ctx) {
  struct Opts {
    std::string record;
    std::optional<std::string> file;
    bool all = false, ignore_not_found = false;
  };
  auto o = std::make_shared<Opts>();
  // No "rm" alias: `wfctl result rm` once ran the top-level rm, and now it is refused with a
  // pointer here, so that no script can have come to rely on either meaning.
  auto* cmd = group.add_subcommand("delete", "Remove stored files of a record (default record-RECORD.dcm), all or none");
  cmd->add_option("RECORD", o->record, "Record id")->required();
  auto* file = cmd->add_option("--file", o->file, "Stored file name (default: record-RECORD.dcm)");
  cmd->add_flag("--all", o->all, "Every file of the record")->excludes(file);
  cmd->add_flag("--ignore-not-found", o->ignore_not_found, "Succeed when there is nothing to delete");
  example(cmd, "wfctl result delete 7\nwfctl result delete 7 --file kspace.npy\nwfctl result delete 7 --all");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      auto out = ctx.output();
      auto id = parse_id(o->record, "record id");
      std::optional<std::string> name;
      if (!o->all) name = o->file.value_or(default_result_name(id));
      auto removed = ctx.store().delete_results(
          id, name, o->ignore_not_found,
          print_before_commit<std::vector<ResultFile>>([out](std::ostream& text, const auto& files) {
            if (output::is_structured(out.format)) {
              Json arr = Json::array();
              for (const auto& r : files) arr.push_back(Json{{"record_id", r.record_id}, {"name", r.name}, {"size", r.size}});
              return output::print_structured(text, arr, out.format);
            }
            for (const auto& r : files) {
              if (out.format == output::Format::name) text << r.record_id << '/' << r.name << '\n';
              else text << record_path(r.record_id, r.name) << " deleted\n";
            }
          }));
      // Nothing to delete with --ignore-not-found: no hook ran; JSON still prints a list.
      if (removed.empty() && output::is_structured(out.format)) output::print_structured(std::cout, Json::array(), out.format);
    };
  });
}

void add_image(CLI::App& group, AppContext& ctx) {
  struct Opts {
    std::string record;
    std::optional<std::string> png, window;
    unsigned frame = 0;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = group.add_subcommand("image", "Stream the DICOM result, or render a PNG preview with --png");
  cmd->add_option("RECORD", o->record, "Record id")->required();
  cmd->add_option("--png", o->png, "Render a PNG preview to this path (- for stdout)");
  cmd->add_option("--frame", o->frame, "Frame to render, counted from 0")->default_str("0")->check(non_negative());
  cmd->add_option("--window", o->window, "Window CENTER,WIDTH (default: the frame's min-max)");
  example(cmd, "wfctl result image 7 --png preview.png --window 40,400\nwfctl result image 7 > record-7.dcm");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      auto id = parse_id(o->record, "record id");
      if ((o->window || o->frame != 0) && !o->png)
        throw Error(ErrorKind::usage, "--frame and --window need --png");
      if (!o->png) {
        if (::isatty(STDOUT_FILENO) == 1)
          throw Error(ErrorKind::usage, "refusing to write binary data to a terminal", "use --png PATH or redirect stdout");
        download_result(ctx.store(), DownloadRequest{id, default_result_name(id), "-", false, {}});
        return;
      }
      dicom::RenderOptions ro;
      ro.frame = o->frame;
      if (o->window) ro.window = parse_window(*o->window);
      if (*o->png == "-" && ::isatty(STDOUT_FILENO) == 1)
        throw Error(ErrorKind::usage, "refusing to write binary data to a terminal", "use --png PATH or redirect stdout");
      ResultCopy copy(ctx.store(), id, default_result_name(id));
      if (*o->png == "-") std::cout << dicom::render_png_bytes(copy.path(), ro);
      else write_preview(*o->png, dicom::render_png_bytes(copy.path(), ro));
    };
  });
}

void add_info(CLI::App& group, AppContext& ctx) {
  struct Opts {
    std::string target;
    bool all = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = group.add_subcommand("info", "Key DICOM attributes of a record's result or of a file");
  cmd->add_option("TARGET", o->target, "Record id, or a DICOM file path (./7 for a file named 7)")->required();
  cmd->add_flag("--all", o->all, "Every element, in the DICOM JSON model (PS3.18 Annex F)");
  example(cmd, "wfctl result info 7\nwfctl result info ./scan.dcm --all -o json");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      auto out = ctx.output();
      auto target = parse_record_or_file(o->target);
      std::optional<ResultCopy> copy;
      std::string path = target.path;
      if (target.record) {
        copy.emplace(ctx.store(), *target.record, default_result_name(*target.record));
        path = copy->path();
      }
      if (o->all) {
        if (!output::is_structured(out.format))
          throw Error(ErrorKind::usage, "--all needs -o json or -o yaml");
        return output::print_structured(std::cout, dicom::to_dicom_json(path), out.format);
      }
      auto summary = dicom::to_json(dicom::read_summary(path));
      if (output::is_structured(out.format))
        return output::print_structured(std::cout, summary, out.format);
      if (out.format == output::Format::name) {
        std::cout << summary["SOPInstanceUID"].get<std::string>() << '\n';
        return;
      }
      output::Table t({"ATTRIBUTE", "VALUE"});
      for (const auto& [key, value] : summary.items())
        t.add({key, value.is_string() ? value.get<std::string>() : value.dump()});
      t.print(std::cout, out.no_headers);
    };
  });
}

std::vector<dicom::ExportSource> sources_for(AppContext& ctx, const std::vector<std::string>& records,
                                             std::vector<std::unique_ptr<ResultCopy>>& copies) {
  std::vector<RecordId> ids;
  for (const auto& r : records) {  // every id checked before any lookup; `export 7 7` is `export 7`
    auto id = parse_id(r, "record id");
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  std::vector<dicom::ExportSource> sources;
  for (auto id : ids) {
    copies.push_back(std::make_unique<ResultCopy>(ctx.store(), id, default_result_name(id)));
    sources.push_back({copies.back()->path(), copies.back()->label()});
  }
  return sources;
}

void add_export(CLI::App& group, AppContext& ctx) {
  struct Opts {
    std::vector<std::string> records;
    std::string dir;
    bool anonymize = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = group.add_subcommand("export", "Write DICOM results into PatientID/Study/Series/SOPInstance.dcm");
  cmd->add_option("RECORD", o->records, "Record ids")->required();
  cmd->add_option("--to", o->dir, "Target directory")->required();
  cmd->add_flag("--anonymize,--anonymise", o->anonymize, "Apply the PS3.15 Basic Confidentiality Profile");
  example(cmd, "wfctl result export 7 8 --to export/ --anonymize");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      auto out = ctx.output();
      std::vector<std::unique_ptr<ResultCopy>> copies;
      auto written = dicom::export_tree(sources_for(ctx, o->records, copies), o->dir, o->anonymize);
      if (output::is_structured(out.format)) {
        Json arr = Json::array();
        for (const auto& w : written) arr.push_back(Json{{"source", w.label}, {"target", w.path}});
        return output::print_structured(std::cout, arr, out.format);
      }
      for (const auto& w : written) std::cout << w.path << '\n';
    };
  });
}

void add_echo(CLI::App& group, AppContext& ctx) {
  struct Opts {
    std::string peer, calling = "WFCTL";
    int timeout = 10;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = group.add_subcommand("echo", "Check a DICOM peer with C-ECHO");
  cmd->add_option("PEER", o->peer, "AET@HOST:PORT")->required();
  cmd->add_option("--calling-aet", o->calling, "Our AE title")->default_str("WFCTL");
  cmd->add_option("--timeout", o->timeout, "Seconds to wait for each network step")->default_str("10")->check(positive());
  example(cmd, "wfctl result echo PACS@pacs.example:104");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      auto out = ctx.output();
      auto peer = dicom::parse_peer(o->peer);
      dicom::echo(peer, o->calling, o->timeout);
      if (output::is_structured(out.format))
        return output::print_structured(std::cout, Json{{"peer", o->peer}, {"ok", true}}, out.format);
      if (out.format == output::Format::name) std::cout << o->peer << '\n';
      else std::cout << fmt::format("{}@{}:{} answered C-ECHO\n", peer.aet, peer.host, peer.port);
    };
  });
}

void add_send(CLI::App& group, AppContext& ctx) {
  struct Opts {
    std::vector<std::string> records;
    std::string peer, calling = "WFCTL";
    int timeout = 30;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = group.add_subcommand("send", "Send DICOM results to a peer with C-STORE");
  cmd->add_option("RECORD", o->records, "Record ids")->required();
  cmd->add_option("--to", o->peer, "AET@HOST:PORT")->required();
  cmd->add_option("--calling-aet", o->calling, "Our AE title")->default_str("WFCTL");
  cmd->add_option("--timeout", o->timeout, "Seconds to wait for each network step")->default_str("30")->check(positive());
  example(cmd, "wfctl result send 7 8 --to PACS@pacs.example:104");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      auto out = ctx.output();
      auto peer = dicom::parse_peer(o->peer);
      std::vector<std::unique_ptr<ResultCopy>> copies;
      auto statuses = dicom::send(sources_for(ctx, o->records, copies), peer, o->calling, o->timeout);
      std::size_t failed = 0;
      Json arr = Json::array();
      output::Table t({"SOURCE", "STATUS", "SOP INSTANCE UID", "MESSAGE"});
      for (const auto& s : statuses) {
        if (!s.ok) ++failed;
        arr.push_back(Json{{"source", s.label}, {"ok", s.ok}, {"status", s.status},
                           {"sop_instance_uid", s.sop_instance_uid}, {"message", s.message}});
        t.add({s.label, s.ok ? "stored" : "failed", s.sop_instance_uid, s.message});
      }
      if (output::is_structured(out.format)) output::print_structured(std::cout, arr, out.format);
      else if (out.format == output::Format::name) {
        for (const auto& s : statuses)
          if (s.ok) std::cout << s.label << '\n';
      } else t.print(std::cout, out.no_headers);
      if (failed > 0)
        throw Error(ErrorKind::unavailable, fmt::format("{} of {} files were not stored by {}", failed, statuses.size(), o->peer));
    };
  });
}

}  // namespace

void add_result_commands(CLI::App& app, AppContext& ctx) {
  auto* group = app.add_subcommand("result", "Upload, download, inspect, export and send result files");
  require_one_subcommand(group, ctx);
  example(group, "wfctl result upload 7 kspace.npy\nwfctl result list 7");
  add_upload(*group, ctx);
  add_list(*group, ctx);
  add_download(*group, ctx);
  add_delete(*group, ctx);
  add_image(*group, ctx);
  add_info(*group, ctx);
  add_export(*group, ctx);
  add_echo(*group, ctx);
  add_send(*group, ctx);
}

}  // namespace wfctl::cli
