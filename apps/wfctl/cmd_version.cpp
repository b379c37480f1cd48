#include <iostream>
#include <wfctl/version.hpp>

#include "cli.hpp"

namespace wfctl::cli {

void add_version_command(CLI::App& app, AppContext& ctx) {
  auto* cmd = app.add_subcommand("version", "Print the version of wfctl");
  example(cmd, "wfctl version -o json");
  cmd->callback([&ctx] {
    ctx.action = [&ctx] {
      // Never reads the config file: a broken one is what a user may be asking about.
      auto out = ctx.output_without_config();
      Json j = Json::object();
      j["wfctl"] = k_version;
      if (output::is_structured(out.format)) return output::print_structured(std::cout, j, out.format);
      std::cout << "wfctl " << k_version << '\n';
    };
  });
}

}  // namespace wfctl::cli
