// The public DICOM functions of the core: each loads wfctl-dicom.so on first use and calls
// through its table (see module_api.hpp for why DCMTK is not linked into the binary).
#include <wfctl/dicom/module_api.hpp>
#include <wfctl/error.hpp>
#include <wfctl/util/interrupt.hpp>
#include <wfctl/util/module.hpp>

namespace wfctl::dicom {

namespace {

const detail::ModuleApi& load() {
  return module_api<detail::ModuleApi>(
      {"wfctl-dicom.so", WFCTL_DICOM_MODULE_LIBDIR, WFCTL_DICOM_MODULE_BUILD, "wfctl_dicom_module",
       detail::k_module_abi, "DICOM", "DICOM support"},
      [](const detail::ModuleApi& api) { api.set_interrupt_check(&interrupt_requested); });  // Ctrl-C stops long DICOM work too
}

bool cancelled(const void* cancel) noexcept { return static_cast<const Cancel*>(cancel)->cancelled(); }

// The module's checks answer this call's token too, on this thread, while the call runs.
class CallCheck {
 public:
  explicit CallCheck(const Cancel& cancel) : m_api(load()) {
    cancel.check();
    m_api.set_call_check(&cancelled, &cancel);
  }
  ~CallCheck() { m_api.set_call_check(nullptr, nullptr); }
  CallCheck(const CallCheck&) = delete;
  CallCheck& operator=(const CallCheck&) = delete;
  const detail::ModuleApi& api() const { return m_api; }

 private:
  const detail::ModuleApi& m_api;
};

}  // namespace

Summary read_summary(const std::string& path, const Cancel& cancel) {
  CallCheck c(cancel);
  return c.api().read_summary(path);
}
void validate(const std::string& path, const Cancel& cancel) {
  CallCheck c(cancel);
  c.api().validate(path);
}
Json to_dicom_json(const std::string& path, const Cancel& cancel) {
  CallCheck c(cancel);
  return c.api().to_dicom_json(path);
}
std::string render_png_bytes(const std::string& dicom_path, const RenderOptions& o, const Cancel& cancel) {
  CallCheck c(cancel);
  return c.api().render_png_bytes(dicom_path, o);
}
std::vector<Exported> export_tree(const std::vector<ExportSource>& sources, const std::string& dir, bool anonymize,
                                  const Cancel& cancel) {
  CallCheck c(cancel);
  return c.api().export_tree(sources, dir, anonymize);
}
void echo(const Peer& peer, const std::string& calling_aet, int timeout_seconds, const Cancel& cancel) {
  CallCheck c(cancel);
  c.api().echo(peer, calling_aet, timeout_seconds);
}
std::vector<SendStatus> send(const std::vector<ExportSource>& sources, const Peer& peer,
                             const std::string& calling_aet, int timeout_seconds, const Cancel& cancel) {
  CallCheck c(cancel);
  return c.api().send(sources, peer, calling_aet, timeout_seconds);
}

Json to_json(const Summary& s) { return load().to_json(s); }
Summary read_summary(const std::string& path) { return load().read_summary(path); }
void validate(const std::string& path) { load().validate(path); }
Json to_dicom_json(const std::string& path) { return load().to_dicom_json(path); }
std::string render_png_bytes(const std::string& dicom_path, const RenderOptions& o) {
  return load().render_png_bytes(dicom_path, o);
}
std::string safe_path_component(std::string_view text, std::size_t max_bytes) {
  return load().safe_path_component(text, max_bytes);
}
std::vector<Exported> export_tree(const std::vector<ExportSource>& sources, const std::string& dir, bool anonymize) {
  return load().export_tree(sources, dir, anonymize);
}
Peer parse_peer(std::string_view text) { return load().parse_peer(text); }
void echo(const Peer& peer, const std::string& calling_aet, int timeout_seconds) {
  load().echo(peer, calling_aet, timeout_seconds);
}
std::vector<SendStatus> send(const std::vector<ExportSource>& sources, const Peer& peer,
                             const std::string& calling_aet, int timeout_seconds) {
  return load().send(sources, peer, calling_aet, timeout_seconds);
}

}  // namespace wfctl::dicom
