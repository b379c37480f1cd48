// The entry point of wfctl-dicom.so: the DCMTK-backed functions, by address.
#include <wfctl/dicom/module_api.hpp>
#include <wfctl/util/interrupt.hpp>

extern "C" __attribute__((visibility("default"))) const wfctl::dicom::detail::ModuleApi* wfctl_dicom_module() {
  namespace d = wfctl::dicom;
  static const d::detail::ModuleApi api{
      d::detail::k_module_abi, d::to_json,          d::read_summary,          d::validate,
      d::to_dicom_json,        d::render_png_bytes, d::safe_path_component,   d::export_tree,
      d::parse_peer,           d::echo,             d::send,                  wfctl::set_interrupt_check,
      wfctl::set_call_check,
  };
  return &api;
}
