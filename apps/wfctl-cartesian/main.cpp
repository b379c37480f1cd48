// wfctl-cartesian: the example reconstruction. Parse the command line, run one of the two
// actions (reconstruct a k-space .npy into DICOM, or write a phantom's k-space), map failures
// to exit statuses.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <iostream>
#include <limits>
#include <new>
#include <wfctl/version.hpp>

#include "atomic_file.hpp"
#include "dicom_out.hpp"
#include "failure.hpp"
#include "npy.hpp"
#include "phantom.hpp"
#include "recon.hpp"

namespace {

constexpr const char* k_footer = R"(Exit status:
  0  success
  1  other errors (an output that cannot be written, a read error, out of memory)
  2  usage error (bad options, a missing input file)
  4  invalid input (not a 2-D complex64/complex128 .npy, a truncated file, absurd dimensions))";

// One line: control characters in a path are shown escaped, never printed raw.
void print_error(const std::string& message, const std::string& hint = "") {
  std::string line = "wfctl-cartesian: error: ";
  for (unsigned char c : message) {
    if (c < 0x20 || c == 0x7f) {
      static const char hex[] = "0123456789abcdef";
      line += std::string("\\x") + hex[c >> 4] + hex[c & 15];
    } else {
      line += static_cast<char>(c);
    }
  }
  std::cerr << line << '\n';
  if (!hint.empty()) std::cerr << "hint: " << hint << '\n';
}

std::string first_line(std::string s) {
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  while (!s.empty() && (s.back() == '.' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  using cartesian::Exit;
  CLI::App app{
      "wfctl-cartesian: the example Cartesian reconstruction of wfctl. Reads a 2-D complex k-space "
      "(.npy: complex64 or complex128, C or Fortran order, either byte order) and writes the "
      "magnitude "
      "of its centred inverse FFT as a 16-bit MR DICOM image; or writes the k-space of a "
      "Shepp-Logan "
      "phantom.\n\nUsage:\n  wfctl-cartesian INPUT.npy OUTPUT.dcm [--record-id N]\n"
      "  wfctl-cartesian --phantom SIZE OUTPUT.npy\n",
      "wfctl-cartesian"};
  std::vector<std::string> files;
  std::int64_t record_id = 0;
  std::size_t phantom = 0;
  app.add_option("FILES", files, "INPUT.npy OUTPUT.dcm, or OUTPUT.npy with --phantom")
      ->required()
      ->expected(1, 2);
  auto* record_opt =
      app.add_option("--record-id", record_id,
                     "The record the image belongs to (PatientID record-N)")
          ->option_text("N")
          ->check(CLI::Range(std::int64_t{1}, std::numeric_limits<std::int64_t>::max()));
  auto* phantom_opt =
      app.add_option("--phantom", phantom, "Write the k-space of a SIZE x SIZE Shepp-Logan phantom")
          ->option_text("SIZE")
          ->check(CLI::Range(cartesian::k_min_phantom, cartesian::k_max_phantom));
  record_opt->excludes(phantom_opt);
  app.set_version_flag("--version", std::string("wfctl-cartesian ") + wfctl::k_version,
                       "Print the version and exit");
  app.footer(k_footer);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    print_error(first_line(e.what()), "run 'wfctl-cartesian --help' for usage");
    return static_cast<int>(Exit::usage);
  }
  if (*phantom_opt ? files.size() != 1 : files.size() != 2) {
    print_error(*phantom_opt ? "--phantom SIZE takes one output file, OUTPUT.npy"
                             : "an input and an output file are required: INPUT.npy OUTPUT.dcm",
                "run 'wfctl-cartesian --help' for usage");
    return static_cast<int>(Exit::usage);
  }

  try {
    cartesian::remove_temporary_file_on_signals();
    if (*phantom_opt) {
      cartesian::write_phantom_kspace(phantom, files[0]);
    } else {
      cartesian::NpyReader reader(files[0]);
      const cartesian::MagnitudeImage image = cartesian::reconstruct(reader);
      cartesian::DicomLabels labels;
      if (*record_opt) labels.record_id = record_id;
      cartesian::write_dicom(image, files[1], labels);
    }
    return 0;
  } catch (const cartesian::Failure& e) {
    print_error(e.what());
    return static_cast<int>(e.exit());
  } catch (const std::bad_alloc&) {
    print_error("out of memory");
    return static_cast<int>(Exit::other);
  } catch (const std::exception& e) {
    print_error(std::string("internal error: ") + e.what());
    return static_cast<int>(Exit::other);
  }
}
