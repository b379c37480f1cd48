// DICOM networking through DCMTK's DcmSCU: peers, C-ECHO and C-STORE.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/diutil.h>
#include <dcmtk/dcmnet/scu.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <wfctl/dicom/dicom.hpp>
#include <wfctl/error.hpp>
#include <wfctl/util/interrupt.hpp>

#include "dcmtk_support.hpp"

namespace wfctl::dicom {

namespace {

// PS3.5 allows at most 128 presentation contexts (odd IDs 1..255) in one association.
constexpr std::size_t k_max_contexts = 128;

void check_aet(std::string_view aet, const std::string& what) {
  if (aet.empty() || aet.size() > 16) {
    throw Error(ErrorKind::usage,
                what + " must be 1 to 16 characters, got \"" + std::string(aet) + "\"");
  }
  for (const char c : aet) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\' || byte < 0x20 || byte >= 0x7F) {
      throw Error(ErrorKind::usage,
                  what + " may contain no backslash, control or non-ASCII characters");
    }
  }
  if (aet.find_first_not_of(' ') == std::string_view::npos) {
    throw Error(ErrorKind::usage, what + " must not be blank");
  }
}

std::string peer_text(const Peer& peer) {
  const bool ipv6 = peer.host.find(':') != std::string::npos;
  return peer.aet + "@" + (ipv6 ? "[" + peer.host + "]" : peer.host) + ":" +
         std::to_string(peer.port);
}

// DCMTK chains the causes of a failure into one text, one per line, outermost first.
std::string flatten(const OFCondition& cond) {
  std::string text = cond.text();
  std::replace(text.begin(), text.end(), '\n', ';');
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    out.push_back(text[i]);
    if (text[i] == ';') out.push_back(' ');
  }
  return out;
}

void configure(DcmSCU& scu, const Peer& peer, const std::string& calling_aet, int timeout_seconds) {
  const int timeout = std::max(1, timeout_seconds);
  scu.setAETitle(calling_aet.c_str());
  scu.setPeerHostName(peer.host.c_str());
  scu.setPeerPort(static_cast<Uint16>(peer.port));
  scu.setPeerAETitle(peer.aet.c_str());
  // The connection timeout is a process-wide DCMTK setting; every association wfctl opens
  // sets it first, so one call's value cannot leak into another's.
  scu.setConnectionTimeout(timeout);
  scu.setACSETimeout(static_cast<Uint32>(timeout));
  scu.setDIMSETimeout(static_cast<Uint32>(timeout));
  scu.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  scu.setVerbosePCMode(OFFalse);
}

void connect(DcmSCU& scu, const Peer& peer, const std::string& calling_aet, int timeout_seconds) {
  OFCondition cond = scu.initNetwork();
  if (cond.bad()) {
    throw Error(ErrorKind::internal, "cannot initialise DICOM networking: " + flatten(cond));
  }
  cond = scu.negotiateAssociation();
  if (cond.good()) return;
  const std::string who = peer_text(peer);
  if (cond == DUL_ASSOCIATIONREJECTED) {
    throw Error(ErrorKind::unavailable,
                who + " rejected the association (called AE title \"" + peer.aet +
                    "\", calling AE title \"" + calling_aet + "\")",
                "check that the peer knows this AE title and the called AE title is right");
  }
  if (cond == NET_EC_NoAcceptablePresentationContexts) {
    throw Error(ErrorKind::unavailable,
                who +
                    " accepted the association but none of the proposed SOP classes and "
                    "transfer syntaxes");
  }
  if (cond == DUL_READTIMEOUT || cond == DIMSE_NODATAAVAILABLE) {
    throw Error(ErrorKind::unavailable, who + " did not answer the association request within " +
                                            std::to_string(std::max(1, timeout_seconds)) + " s");
  }
  throw Error(ErrorKind::unavailable, "cannot connect to " + who + ": " + flatten(cond));
}

struct Outgoing {
  std::string label;
  std::string path;
  std::string sop_class;
  std::string sop_instance;
  std::string xfer;  // UID of the file's own transfer syntax
};

bool is_uncompressed_le(const std::string& xfer) {
  return xfer == UID_LittleEndianExplicitTransferSyntax ||
         xfer == UID_LittleEndianImplicitTransferSyntax;
}

}  // namespace

Peer parse_peer(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return Error(ErrorKind::usage, "invalid peer \"" + std::string(text) + "\": " + why,
                 "expected AET@HOST:PORT, e.g. PACS@pacs.example.org:104");
  };
  const std::size_t at = text.rfind('@');
  if (at == std::string_view::npos) throw bad("no '@' between AE title and host");
  Peer peer;
  peer.aet = std::string(text.substr(0, at));
  check_aet(peer.aet, "the AE title of peer \"" + std::string(text) + "\"");

  std::string_view rest = text.substr(at + 1);
  std::string_view port_text;
  // DCMTK 3.6.7 joins host and port as "host:port" and splits at the first colon, so an
  // IPv6 literal can never reach the peer: say so rather than fail later with its message.
  if (rest.starts_with('[') || std::count(rest.begin(), rest.end(), ':') > 1) {
    throw bad("IPv6 addresses are not supported by DCMTK 3.6.7; use an IPv4 address or a host name");
  }
  const std::size_t colon = rest.rfind(':');
  peer.host = std::string(rest.substr(0, colon));
  if (colon != std::string_view::npos) {
    port_text = rest.substr(colon + 1);
    if (port_text.empty()) throw bad("empty port");
  }
  if (peer.host.empty()) throw bad("empty host");
  for (const char c : peer.host) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7F || c == '/' || c == '@') {
      throw bad("the host contains a character no host name has");
    }
  }
  if (!port_text.empty()) {
    int port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 ||
        port > 65535) {
      throw bad("the port must be a number from 1 to 65535");
    }
    peer.port = port;
  }
  return peer;
}

void echo(const Peer& peer, const std::string& calling_aet, int timeout_seconds) {
  detail::init_dcmtk();
  check_aet(calling_aet, "the calling AE title");
  DcmSCU scu;
  configure(scu, peer, calling_aet, timeout_seconds);
  OFList<OFString> syntaxes;
  syntaxes.push_back(UID_LittleEndianExplicitTransferSyntax);
  syntaxes.push_back(UID_LittleEndianImplicitTransferSyntax);
  scu.addPresentationContext(UID_VerificationSOPClass, syntaxes);
  connect(scu, peer, calling_aet, timeout_seconds);
  const OFCondition cond = scu.sendECHORequest(0);
  if (cond.bad()) {
    scu.abortAssociation();
    throw Error(ErrorKind::unavailable,
                "C-ECHO to " + peer_text(peer) + " failed: " + flatten(cond));
  }
  scu.releaseAssociation();
}

std::vector<SendStatus> send(const std::vector<ExportSource>& sources, const Peer& peer,
                             const std::string& calling_aet, int timeout_seconds) {
  detail::init_dcmtk();
  check_aet(calling_aet, "the calling AE title");

  // Check every file before connecting, so that a bad file fails the command up front
  // instead of halfway through a batch. Only the facts needed for negotiation are kept; the
  // files are read again one at a time while sending, to bound memory.
  std::vector<Outgoing> outgoing;
  std::map<std::string, std::set<std::string>> syntaxes_by_class;
  for (const ExportSource& source : sources) {
    Outgoing item;
    item.label = source.label.empty() ? source.path : source.label;
    item.path = source.path;
    const detail::Loaded loaded = detail::load_file(source.path, item.label);
    item.sop_class = detail::get_string(loaded.dataset(), DCM_SOPClassUID);
    item.sop_instance = detail::get_string(loaded.dataset(), DCM_SOPInstanceUID);
    item.xfer = DcmXfer(loaded.original_xfer()).getXferID();
    if (item.sop_class.empty() || item.sop_instance.empty()) {
      throw Error(ErrorKind::invalid_input,
                  item.label + ": cannot be sent: it has no SOP Class UID or SOP Instance UID");
    }
    syntaxes_by_class[item.sop_class].insert(item.xfer);
    outgoing.push_back(std::move(item));
  }
  if (outgoing.empty()) return {};

  DcmSCU scu;
  configure(scu, peer, calling_aet, timeout_seconds);
  std::size_t contexts = 0;
  for (const auto& [sop_class, syntaxes] : syntaxes_by_class) {
    // One context per encoded syntax so that the peer can accept each on its own, plus the
    // uncompressed fallback every storage SCP must support.
    for (const std::string& xfer : syntaxes) {
      if (is_uncompressed_le(xfer)) continue;
      OFList<OFString> own;
      own.push_back(xfer.c_str());
      scu.addPresentationContext(sop_class.c_str(), own);
      ++contexts;
    }
    OFList<OFString> fallback;
    fallback.push_back(UID_LittleEndianExplicitTransferSyntax);
    fallback.push_back(UID_LittleEndianImplicitTransferSyntax);
    scu.addPresentationContext(sop_class.c_str(), fallback);
    ++contexts;
  }
  if (contexts > k_max_contexts) {
    throw Error(ErrorKind::invalid_input,
                "cannot send these files in one association: they need " +
                    std::to_string(contexts) + " presentation contexts, DICOM allows 128",
                "send fewer kinds of files (SOP classes and transfer syntaxes) at a time");
  }
  connect(scu, peer, calling_aet, timeout_seconds);

  std::vector<SendStatus> statuses;
  std::string lost_after;  // the label after which the association broke down
  for (const Outgoing& item : outgoing) {
    throw_if_interrupted("files sent before the interrupt stay sent");  // the association is aborted
    SendStatus& status = statuses.emplace_back();
    status.label = item.label;
    status.sop_instance_uid = item.sop_instance;
    if (!lost_after.empty()) {
      status.message = "not sent: the association ended after an error while sending " + lost_after;
      continue;
    }
    detail::Loaded loaded;
    try {
      loaded = detail::load_file(item.path, item.label);
    } catch (const Error& e) {
      status.message = e.what();
      continue;
    }
    DcmDataset& ds = loaded.dataset();
    E_TransferSyntax target = loaded.original_xfer();
    T_ASC_PresentationContextID id = scu.findPresentationContextID(item.sop_class, item.xfer);
    for (const char* uid :
         {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax}) {
      if (id != 0) break;
      id = scu.findPresentationContextID(item.sop_class, uid);
      target = DcmXfer(uid).getXfer();
    }
    if (id == 0) {
      status.message = "not sent: " + peer_text(peer) + " accepts no transfer syntax for " +
                       dcmFindNameOfUID(item.sop_class.c_str(), item.sop_class.c_str());
      continue;
    }
    if (target != loaded.original_xfer()) {
      const OFCondition cond = ds.chooseRepresentation(target, nullptr);
      if (cond.bad() || !ds.canWriteXfer(target)) {
        status.message = "not sent: the peer accepts only " + detail::xfer_description(target) +
                         " and this file cannot be decoded from " +
                         detail::xfer_description(loaded.original_xfer());
        continue;
      }
    }
    Uint16 response = 0;
    const OFCondition cond = scu.sendSTORERequest(id, OFFilename(), &ds, response);
    if (cond.bad()) {
      status.message = "C-STORE failed: " + flatten(cond);
      // After a transport or protocol failure the association state is unknown; stop
      // rather than report each remaining file with the same error.
      scu.abortAssociation();
      lost_after = item.label;
      continue;
    }
    status.status = response;
    // 0000 is success; Bxxx are warnings (coercion, elements discarded): stored all the same.
    status.ok = response == 0 || (response & 0xF000) == 0xB000;
    status.message = DU_cstoreStatusString(response);
  }
  if (lost_after.empty()) scu.releaseAssociation();
  return statuses;
}

}  // namespace wfctl::dicom
