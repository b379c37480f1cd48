// serve: answer the ScanHub workflow-manager REST contract over the store.
#include <fmt/format.h>
#include <iostream>
#include <wfctl/error.hpp>
#include <wfctl/ops/workflows.hpp>
#include <wfctl/server/server.hpp>
#include <wfctl/util/signals.hpp>

#include "cli.hpp"

namespace wfctl::cli {

void add_serve_command(CLI::App& app, AppContext& ctx) {
  struct Opts {
    std::string listen = "127.0.0.1:8001", prefix = "/api/v1/workflow", max_upload = "4G", grace = "10s";
    int threads = 0;
    std::optional<std::string> token_file;
    std::vector<std::string> cors_origins;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("serve", "Serve the store over HTTP with the ScanHub workflow-manager API");
  cmd->add_option("--listen", o->listen, "HOST:PORT to listen on; port 0 picks a free one (default 127.0.0.1:8001)")
      ->type_name("HOST:PORT");
  cmd->add_option("--prefix", o->prefix, "Path prefix of every route (default /api/v1/workflow)")->type_name("PATH");
  cmd->add_option("--threads", o->threads, "Requests handled at once (default: max(4, 2 x cores))")->check(CLI::Range(1, 1024));
  cmd->add_option("--max-upload-size", o->max_upload, "Largest uploaded file in bytes, K/M/G suffixes allowed (default 4G)")
      ->type_name("SIZE");
  cmd->add_option("--token-file", o->token_file, "File holding the bearer token every route but health requires")
      ->type_name("FILE");
  cmd->add_option("--cors-origin", o->cors_origins, "Answer browsers from this origin with CORS headers (repeatable)")
      ->type_name("ORIGIN");
  cmd->add_option("--grace", o->grace, "After SIGTERM: how long running requests may finish (default 10s)")
      ->type_name("DURATION");
  example(cmd, "wfctl serve --listen 127.0.0.1:8001\nwfctl serve --listen 0.0.0.0:8001 --token-file /etc/wfctl/token");
  cmd->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      server::ServeOptions s;
      s.listen = o->listen;
      server::parse_listen(s.listen);  // a bad address fails before the store is opened
      s.prefix = o->prefix;
      s.threads = o->threads;
      s.max_upload_size = server::parse_size(o->max_upload, "--max-upload-size");
      s.grace = duration_flag("--grace", o->grace);
      if (o->token_file) s.token = server::read_token_file(*o->token_file);
      s.cors_origins = o->cors_origins;
      // A stop request is the server's to act on: running requests finish and their writes
      // commit, so the store must not stop at the signal.
      ctx.store_survives_signals();
      set_interrupt_check(nullptr);
      s.stop_requested = [] { return signal_count() > 0; };
      const std::string prefix = s.prefix;
      server::serve(ctx.store(), ctx.transport(), s, [&prefix](const std::string& bound) {
        std::cerr << fmt::format("wfctl serve: listening on http://{}{}", bound, prefix) << std::endl;
      });
    };
  });
}

}  // namespace wfctl::cli
