#pragma once
// The table of functions the DICOM module (wfctl-dicom.so) hands to the core. DCMTK and the
// libraries it pulls in (ICU, libxml2, libtiff, Kerberos, ...) take milliseconds of symbol
// relocation at every start; loading them only for the commands that touch DICOM keeps
// `wfctl get` and `wfctl list` as quick as the sqlite3 CLI.
#include <wfctl/dicom/dicom.hpp>

namespace wfctl::dicom::detail {

inline constexpr int k_module_abi = 4;

struct ModuleApi {
  int abi;
  Json (*to_json)(const Summary&);
  Summary (*read_summary)(const std::string&);
  void (*validate)(const std::string&);
  Json (*to_dicom_json)(const std::string&);
  std::string (*render_png_bytes)(const std::string&, const RenderOptions&);
  std::string (*safe_path_component)(std::string_view, std::size_t);
  std::vector<Exported> (*export_tree)(const std::vector<ExportSource>&, const std::string&, bool);
  Peer (*parse_peer)(std::string_view);
  void (*echo)(const Peer&, const std::string&, int);
  std::vector<SendStatus> (*send)(const std::vector<ExportSource>&, const Peer&, const std::string&, int);
  /// How long operations ask whether Ctrl-C came (set by the core when it loads the module:
  /// the module's copy of util/interrupt cannot see the core's signal flag by itself).
  void (*set_interrupt_check)(bool (*)() noexcept);
  /// This thread's call check (util/interrupt.hpp), set by the core around each call that
  /// carries a cancellation token.
  void (*set_call_check)(bool (*)(const void*) noexcept, const void*) noexcept;
};

}  // namespace wfctl::dicom::detail

/// The module's one exported symbol.
extern "C" const wfctl::dicom::detail::ModuleApi* wfctl_dicom_module();
