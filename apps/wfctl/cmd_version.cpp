#include <iostream>
#include <wfctl/version.hpp>

#include "cli.hpp"

namespace wfctl::cli {

void add_version_command(CLI::App& app, AppContext& ctx) {
  app.add_subcommand("version", "Print the version of wfctl")->callback([&ctx] {
    ctx.action = [&ctx] {
      auto out = ctx.output();
      Json j = Json::object();
      j["wfctl"] = k_version;
      if (output::is_structured(out.format)) return output::print_structured(std::cout, j, out.format);
      std::cout << "wfctl " << k_version << '\n';
    };
  });
}

}  // namespace wfctl::cli
