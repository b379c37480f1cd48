#pragma once
// Private to the DICOM module: what keeps DCMTK's recursive reader, and every recursive walk
// over what it read, within a bounded nesting depth (k_max_sequence_depth, see dicom.hpp).
//
// DCMTK parses a sequence inside an item inside a sequence by recursion, a few stack frames
// per level, so a few thousand nested sequences (a few hundred kilobytes of file) overflow the
// stack. Three layers keep that from happening:
//  - check_nesting() scans the file's element stream iteratively, the way DCMTK will read it,
//    and refuses a file nested deeper than the limit before DCMTK sees it;
//  - GuardedStream, the stream DCMTK then reads from, fails every read once the reading thread
//    has used more than a fixed share of its stack, so a structure the scan did not foresee
//    (DCMTK's private dictionary, its recovery heuristics) ends in a read error, not a crash;
//  - check_tree_depth() measures the loaded tree without recursion, for what works on it.
#include <dcmtk/config/osconfig.h>  // must come first: DCMTK's headers depend on it
#include <dcmtk/dcmdata/dcistrma.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcistrmf.h>
#include <dcmtk/dcmdata/dcitem.h>

#include <cstdint>
#include <span>
#include <string>

namespace wfctl::dicom::detail {

/// Scans the file at `path` (Part 10 or a bare data set, any transfer syntax DCMTK reads,
/// deflated included) without recursion; returns normally when no sequence is nested deeper
/// than k_max_sequence_depth, and throws Error(invalid_input, "<label>: sequences nested more
/// than N levels deep ...") otherwise. A file that ends early or is malformed passes: reading
/// it reports that. Linear in the file size; memory is independent of it.
void check_nesting(const std::string& path, const std::string& label);

/// The same check for the value of one element encoded in implicit VR little endian (a UN
/// value that holds a sequence), `depth` levels below the data set; throws the same.
void check_nesting_implicit(std::span<const std::uint8_t> value, unsigned depth,
                            const std::string& label);

/// Throws Error(invalid_input, "<label>: sequences nested more than N levels deep") when a
/// sequence in `item` lies deeper than k_max_sequence_depth - `depth`; walks the tree with an
/// explicit stack, in time linear in its size.
void check_tree_depth(DcmItem& item, unsigned depth, const std::string& label);

/// DCMTK's input stream over a file, failing every read once the calling thread has used more
/// than its share of stack since construction (see above); tripped() tells whether it did.
class GuardedFileStream : public DcmInputFileStream {
 public:
  explicit GuardedFileStream(const OFFilename& name);
  OFBool good() const override;
  OFCondition status() const override;
  OFBool eos() override;
  offile_off_t avail() override;
  offile_off_t read(void* buf, offile_off_t length) override;
  offile_off_t skip(offile_off_t length) override;
  /// True once a read was refused for lack of stack.
  bool tripped() const { return m_tripped; }

 private:
  bool check() const;
  std::uintptr_t m_floor = 0;
  mutable bool m_tripped = false;
};

/// The same guard over a buffer in memory.
class GuardedBufferStream : public DcmInputBufferStream {
 public:
  GuardedBufferStream();
  OFBool good() const override;
  OFCondition status() const override;
  OFBool eos() override;
  offile_off_t avail() override;
  offile_off_t read(void* buf, offile_off_t length) override;
  offile_off_t skip(offile_off_t length) override;
  bool tripped() const { return m_tripped; }

 private:
  bool check() const;
  std::uintptr_t m_floor = 0;
  mutable bool m_tripped = false;
};

/// "<label>: sequences nested too deeply to read safely (...)", the error for a tripped guard.
std::string stack_guard_message(const std::string& label);

}  // namespace wfctl::dicom::detail
