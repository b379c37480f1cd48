// result upload | list | download | delete | image | info | export | echo | send
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <wfctl/error.hpp>
#include <wfctl/ops/results.hpp>
#include <wfctl/ops/workflows.hpp>

#include "cli.hpp"
#include "progress.hpp"

namespace wfctl::cli {

namespace {

// "--window CENTER,WIDTH"; throws Error(usage) unless WIDTH > 0.
std::pair<double, double> parse_window(const std::string& text) {
  auto comma = text.find(',');
  try {
    if (comma != std::string::npos) {
      std::size_t p1 = 0, p2 = 0;
      std::string a = text.substr(0, comma), b = text.substr(comma + 1);
      double center = std::stod(a, &p1), width = std::stod(b, &p2);
      if (p1 == a.size() && p2 == b.size() && width > 0) return {center, width};
    }
  } catch (const std::exception&) {
  }
  throw Error(ErrorKind::usage, fmt::format("invalid --window '{}': expected CENTER,WIDTH with WIDTH > 0", text));
}

void add_upload(CLI::App& group, AppContext& ctx) {
  struct Opts {
    std::string record, file;
    std::optional<std::string> name;
    bool force = false, dicom = false, no_job = false;
    std::string topic{k_default_topic};
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = group.add_subcommand("upload", "Store a file at records/RECORD/NAME (atomic, streamed, sha256 recorded)");
  cmd->add_option("RECORD", o->record, "Record id")->required();
  cmd->add_option("FILE", o->file, "File to upload; - reads stdin (needs --name)")->required()->type_name("FILE|-");
  cmd->add_option("--name", o->name, "Stored file name (default: FILE's base name)");
  cmd->add_flag("--force", o->force, "Replace an existing file");
  cmd->add_flag("--dicom", o->dicom, "Validate as DICOM even without a .dcm name");
  cmd->add_flag("--no-job", o->no_job, "Submit no reconstruction job (one is submitted unless NAME is record-RECORD.dcm)");
  cmd->add_option("--topic", o->topic, "Topic of the reconstruction job (default mri_cartesian_reco)");
  example(cmd, "wfctl result upload 7 kspace.npy\nwfctl result upload 7 - --name record-7.dcm < result.dcm");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      auto out = ctx.output();
      auto record = parse_id(o->record, "record id");
      if (o->file == "-" && !o->name)
        throw Error(ErrorKind::usage, "uploading from stdin needs --name", "e.g. wfctl result upload 7 - --name kspace.npy");
      InputFile input(o->file);
      Progress bar("uploading");
      if (o->no_job && o->topic != k_default_topic) throw Error(ErrorKind::usage, "--topic and --no-job contradict each other");
      IngestOptions io;
      io.force = o->force;
      io.dicom = o->dicom;
      io.cancel = ctx.cancel();
      io.job = UploadJob{!o->no_job, o->topic};
      io.transport = &ctx.transport();
      io.before_commit = print_before_commit<Ingested>([out, &bar](std::ostream& text, const Ingested& in) {
        bar.clear();
        const ResultFile& f = in.file;
        if (out.format == output::Format::table || out.format == output::Format::wide) {
          text << fmt::format("{} uploaded: {} bytes, sha256 {}\n", record_path(f.record_id, f.name), f.size, f.sha256);
          if (in.job) text << fmt::format("job/{} submitted ({})\n", in.job->id, in.job->topic);
        } else if (output::is_structured(out.format)) {
          Json uploaded = to_json(f);
          uploaded["job"] = in.job ? to_json(*in.job) : Json(nullptr);
          output::print_structured(text, uploaded, out.format);
        } else {
          output::print_result(text, f, out);
        }
      });
      ctx.hint(ErrorKind::conflict, "use --force to replace it");
      ctx.hint("value_error.dicom", "upload it without --dicom and under another extension to store it as opaque bytes");
      auto name = o->name ? *o->name : std::filesystem::path(o->file).filename().string();
      ingest_result(ctx.store(), record, name, input.source(bar.callback()), io);
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
    std::optional<std::string> timeout;
    bool force = false, wait = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = group.add_subcommand("download", "Write a stored file (default record-RECORD.dcm) to stdout or a path");
  cmd->add_option("RECORD", o->record, "Record id")->required();
  cmd->add_option("--file", o->name, "Stored file name (default: record-RECORD.dcm)");
  cmd->add_option("-O,--output-file", o->output, "Where to write: a path, a directory, or - for stdout")
      ->default_str("-");
  cmd->add_flag("--force", o->force, "Overwrite an existing output file");
  cmd->add_flag("--wait", o->wait, "Wait until the file exists (a reconstruction still running), then download it");
  cmd->add_option("--timeout", o->timeout, "With --wait: give up after this long (exit 10), e.g. 10m")
      ->type_name("DURATION");
  example(cmd, "wfctl result download 7 -O record-7.dcm\nwfctl result download 7 --file kspace.npy -O data/\n"
               "wfctl result download 7 --wait --timeout 10m -O record-7.dcm");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      auto id = parse_id(o->record, "record id");
      if (o->output == "-" && ::isatty(STDOUT_FILENO) == 1)
        throw Error(ErrorKind::usage, "refusing to write binary data to a terminal", "use -O PATH or redirect stdout");
      if (o->timeout && !o->wait) throw Error(ErrorKind::usage, "--timeout needs --wait");
      ctx.hint(ErrorKind::conflict, "use --force to overwrite it");
      if (o->wait) {
        ResultWait wait;
        if (o->timeout) wait.timeout = duration_flag("--timeout", *o->timeout);
        // Only a person at a terminal is told why nothing happens yet.
        if (::isatty(STDERR_FILENO) == 1)
          wait.on_waiting = [](const std::string& path) {
            std::cerr << "wfctl: waiting for " << path << " to appear (Ctrl-C to stop)\n";
          };
        wait_for_result(ctx.store(), id, o->name, wait, ctx.cancel());
      }
      Progress bar("downloading");
      download_result(ctx.store(), DownloadRequest{id, o->name, o->output, o->force, bar.callback(), ctx.cancel()});
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
          {ctx.cancel(), print_before_commit<std::vector<ResultFile>>([out](std::ostream& text, const auto& files) {
            if (output::is_structured(out.format)) {
              Json arr = Json::array();
              for (const auto& r : files) arr.push_back(Json{{"record_id", r.record_id}, {"name", r.name}, {"size", r.size}});
              return output::print_structured(text, arr, out.format);
            }
            for (const auto& r : files) {
              if (out.format == output::Format::name) text << r.record_id << '/' << r.name << '\n';
              else text << record_path(r.record_id, r.name) << " deleted\n";
            }
          })});
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
        download_result(ctx.store(), DownloadRequest{id, default_result_name(id), "-", false, {}, ctx.cancel(), true});
        return;
      }
      dicom::RenderOptions ro;
      ro.frame = o->frame;
      if (o->window) ro.window = parse_window(*o->window);
      if (*o->png == "-" && ::isatty(STDOUT_FILENO) == 1)
        throw Error(ErrorKind::usage, "refusing to write binary data to a terminal", "use --png PATH or redirect stdout");
      auto png = preview(ctx.store(), id, ro, ctx.cancel());
      if (*o->png == "-") std::cout << png;
      else write_preview(*o->png, png);
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
      if (o->all && !output::is_structured(out.format)) throw Error(ErrorKind::usage, "--all needs -o json or -o yaml");
      auto summary = describe_dicom(ctx.store(), target, o->all, ctx.cancel());
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

std::vector<RecordId> record_ids(const std::vector<std::string>& records) {
  std::vector<RecordId> ids;
  for (const auto& r : records) ids.push_back(parse_id(r, "record id"));  // every id checked first
  return ids;
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
      auto written = export_results(ctx.store(), record_ids(o->records), o->dir, o->anonymize, ctx.cancel());
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
      dicom::echo(peer, o->calling, o->timeout, ctx.cancel());
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
      auto statuses = send_results(ctx.store(), record_ids(o->records), peer, o->calling, o->timeout, ctx.cancel());
      Json arr = Json::array();
      output::Table t({"SOURCE", "STATUS", "SOP INSTANCE UID", "MESSAGE"});
      for (const auto& s : statuses) {
        arr.push_back(Json{{"source", s.label}, {"ok", s.ok}, {"status", s.status},
                           {"sop_instance_uid", s.sop_instance_uid}, {"message", s.message}});
        t.add({s.label, s.ok ? "stored" : "failed", s.sop_instance_uid, s.message});
      }
      if (output::is_structured(out.format)) output::print_structured(std::cout, arr, out.format);
      else if (out.format == output::Format::name) {
        for (const auto& s : statuses)
          if (s.ok) std::cout << s.label << '\n';
      } else t.print(std::cout, out.no_headers);
      throw_if_failed(statuses, o->peer);
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
