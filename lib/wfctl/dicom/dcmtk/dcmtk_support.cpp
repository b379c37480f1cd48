#include "dcmtk_support.hpp"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcistrmf.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <wfctl/error.hpp>
#include <wfctl/util/fs.hpp>

#include "prescan.hpp"

namespace wfctl::dicom::detail {

namespace {
// Registers the decoders for the life of the process and unregisters them at exit, so that
// leak checkers see DCMTK's codec list emptied as its documentation asks.
struct Codecs {
  Codecs() {
    // DCMTK logs warnings and errors to stderr; wfctl reports one error line of its own, and
    // every condition DCMTK logs here also comes back as a status that we turn into a message.
    OFLog::configure(OFLogger::OFF_LOG_LEVEL);
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
  }
  ~Codecs() {
    DcmRLEDecoderRegistration::cleanup();
    DJLSDecoderRegistration::cleanup();
    DJDecoderRegistration::cleanup();
  }
};
}  // namespace

void init_dcmtk() { static const Codecs codecs; }

namespace {

// Without a "DICM" prefix DCMTK guesses the encoding and will happily read almost any bytes
// as some element, so a bare data set must at least start like one: with a tag of the file
// meta group or of group 0008, where every composite instance starts, in either byte order.
bool looks_like_bare_dataset(const std::array<unsigned char, 4>& head) {
  const unsigned le_group = head[0] | (head[1] << 8);
  const unsigned be_group = head[1] | (head[0] << 8);
  const auto plausible = [](unsigned group) { return group == 0x0002 || group == 0x0008; };
  return plausible(le_group) || plausible(be_group);
}

bool has_group(DcmItem& item, Uint16 group) {
  for (unsigned long i = 0; i < item.card(); ++i) {
    if (item.getElement(i)->getTag().getGroup() == group) return true;
  }
  return false;
}

Error not_dicom(const std::string& label, const std::string& why) {
  return Error(ErrorKind::invalid_input, label + ": not a DICOM file: " + why);
}

}  // namespace

Loaded load_file(const std::string& path, const std::string& label) {
  init_dcmtk();
  // Opened like every other file wfctl reads, so the one errno table decides the exit code.
  std::array<char, 132> head{};
  std::size_t got = 0;
  {
    const UniqueFd fd = open_for_reading(path, label);
    while (got < head.size()) {
      const std::size_t n = read_some(fd.get(), head.data() + got, head.size() - got, label);
      if (n == 0) break;
      got += n;
    }
  }
  if (got == 0) throw not_dicom(label, "the file is empty");

  Loaded loaded;
  loaded.part10 = got == head.size() && std::memcmp(head.data() + 128, "DICM", 4) == 0;
  if (!loaded.part10) {
    std::array<unsigned char, 4> first{};
    std::memcpy(first.data(), head.data(), std::min<std::size_t>(got, 4));
    if (got < 8 || !looks_like_bare_dataset(first)) {
      throw not_dicom(label, "no \"DICM\" prefix at byte 128 and no data set at the start");
    }
  }

  // Read through our own stream rather than loadFile() so that after a failure we can ask
  // whether the data simply ran out: that is what tells "truncated" from "corrupt".
  // OFFilename wants the name as given; a maximum read length of all ones loads every value
  // now instead of on first use, so pixel data missing at the end of the file is seen here.
  // Nesting is bounded before DCMTK's recursive reader sees the file (see prescan.hpp).
  check_nesting(path, label);
  loaded.file = std::make_unique<DcmFileFormat>();
  GuardedFileStream stream{OFFilename(path.c_str())};
  if (stream.status().bad()) {
    throw errno_error(EACCES, "cannot read " + label);
  }
  loaded.file->transferInit();
  OFCondition cond = loaded.file->read(stream, EXS_Unknown, EGL_noChange, 0xFFFFFFFFu);
  loaded.file->transferEnd();

  if (stream.tripped()) throw Error(ErrorKind::invalid_input, stack_guard_message(label));
  if (cond.bad()) {
    if (loaded.part10 && loaded.file->getMetaInfo()->card() == 0 && loaded.dataset().card() == 0) {
      throw Error(ErrorKind::invalid_input,
                  label + ": truncated: nothing follows the \"DICM\" prefix");
    }
    if (cond == EC_StreamNotifyClient || (stream.eos() && !loaded.dataset().isEmpty())) {
      throw Error(ErrorKind::invalid_input, label +
                                                ": truncated: the file ends inside an element (" +
                                                std::to_string(stream.tell()) + " bytes read)");
    }
    if (loaded.part10) {
      throw Error(ErrorKind::invalid_input,
                  label + ": invalid DICOM file: " + std::string(cond.text()));
    }
    throw not_dicom(label, cond.text());
  }
  if (loaded.dataset().card() == 0) throw not_dicom(label, "the data set is empty");
  check_tree_depth(*loaded.file->getMetaInfo(), 0, label);
  check_tree_depth(loaded.dataset(), 0, label);
  if (!loaded.part10 && !has_group(loaded.dataset(), 0x0008)) {
    throw not_dicom(label, "no \"DICM\" prefix and no identifying attributes");
  }
  return loaded;
}

std::string get_string(DcmItem& item, const DcmTagKey& tag) {
  DcmElement* element = nullptr;
  if (item.findAndGetElement(tag, element, OFFalse).bad() || element == nullptr) return {};
  std::string out;
  Uint8* bytes = nullptr;
  if (element->getTag().getEVR() == EVR_UN && DcmVR(DcmTag(tag).getEVR()).isaString()) {
    // A UN value of a string attribute is that string's bytes (DCMTK would show them as hex).
    if (element->getUint8Array(bytes).good() && bytes != nullptr) {
      out.assign(reinterpret_cast<const char*>(bytes), element->getLength());
    }
  } else {
    OFString value;
    if (element->getOFStringArray(value).bad()) return {};
    out.assign(value.c_str(), value.length());
  }
  // DCMTK leaves the padding of some VRs in place; trailing NULs and spaces carry no meaning.
  while (!out.empty() && (out.back() == ' ' || out.back() == '\0')) out.pop_back();
  std::size_t start = 0;
  while (start < out.size() && out[start] == ' ') ++start;
  return out.substr(start);
}

long get_long(DcmItem& item, const DcmTagKey& tag, long fallback) {
  DcmElement* element = nullptr;
  if (item.findAndGetElement(tag, element, OFFalse).bad() || element->getVM() == 0) {
    return fallback;
  }
  // US/UL/SS/SL and IS all map to an integer here; a malformed IS (e.g. "1A") is no number.
  Sint32 value = 0;
  if (item.findAndGetSint32(tag, value, 0, OFFalse).good()) return value;
  Uint16 u16 = 0;
  if (item.findAndGetUint16(tag, u16, 0, OFFalse).good()) return u16;
  Uint32 u32 = 0;
  if (item.findAndGetUint32(tag, u32, 0, OFFalse).good()) return static_cast<long>(u32);
  return fallback;
}

bool convert_to_utf8(DcmItem& item) {
  // Converting also writes "ISO_IR 192" into Specific Character Set; data sets in the default
  // repertoire (ASCII, no such attribute) or already in UTF-8 are left exactly as they are.
  const std::string charset = get_string(item, DCM_SpecificCharacterSet);
  if (charset.empty() || charset == "ISO_IR 192") return true;
  return item.convertToUTF8().good();
}

bool fragments_in_native(DcmDataset& ds, E_TransferSyntax xfer) {
  if (DcmXfer(xfer).isEncapsulated()) return false;
  DcmElement* element = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, element).bad() || element == nullptr ||
      element->ident() != EVR_PixelData) {
    return false;
  }
  DcmPixelSequence* fragments = nullptr;
  return static_cast<DcmPixelData*>(element)
             ->getEncapsulatedRepresentation(xfer, nullptr, fragments)
             .good() &&
         fragments != nullptr;
}

std::string xfer_description(E_TransferSyntax xfer) {
  const DcmXfer info(xfer);
  return std::string(info.getXferName()) + " (" + info.getXferID() + ")";
}

}  // namespace wfctl::dicom::detail
