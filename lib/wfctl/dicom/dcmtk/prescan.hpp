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
#include <utility>

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

/// The stack guard's parts: the lowest stack address at which reads are still allowed for a
/// stream made now, whether the caller is below it, and the condition a refused read reports.
std::uintptr_t stack_floor();
bool below_stack_floor(std::uintptr_t floor);
OFCondition stack_exhausted();

/// A DCMTK input stream (Base) that fails every read once the calling thread has used more
/// than its share of stack since construction (see above); tripped() tells whether it did.
template <typename Base>
class GuardedStream : public Base {
 public:
  template <typename... Args>
  explicit GuardedStream(Args&&... args) : Base(std::forward<Args>(args)...), m_floor(stack_floor()) {}
  OFBool good() const override { return check() && Base::good(); }
  OFCondition status() const override { return check() ? Base::status() : stack_exhausted(); }
  OFBool eos() override { return !check() || Base::eos(); }
  offile_off_t avail() override { return check() ? Base::avail() : 0; }
  offile_off_t read(void* buf, offile_off_t length) override { return check() ? Base::read(buf, length) : 0; }
  offile_off_t skip(offile_off_t length) override { return check() ? Base::skip(length) : 0; }
  /// True once a read was refused for lack of stack.
  bool tripped() const { return m_tripped; }

 private:
  bool check() const {
    if (!m_tripped && below_stack_floor(m_floor)) m_tripped = true;
    return !m_tripped;
  }
  std::uintptr_t m_floor = 0;
  mutable bool m_tripped = false;
};

/// The guard over a file, and over a buffer in memory.
using GuardedFileStream = GuardedStream<DcmInputFileStream>;
using GuardedBufferStream = GuardedStream<DcmInputBufferStream>;

/// "<label>: sequences nested too deeply to read safely (...)", the error for a tripped guard.
std::string stack_guard_message(const std::string& label);

}  // namespace wfctl::dicom::detail
