#!/usr/bin/env python3
"""Hostile DICOM inputs for wfctl's regression tests, written with the standard library only.

Each function returns the bytes of one file. The small ones are also kept next to this script
(regenerate them with `hostile.py write DIR`); the large ones are only ever generated:

  deep_nesting(levels, ...)     sequences nested `levels` deep (6 000 levels: 216 KB)
  many_items(count)             one sequence of `count` items (300 000 items: 20 MB)
  un_uids()                     SOP/Study/Series Instance UIDs and Patient Name encoded as UN
  short_pixels(bits)            512x512 image with 2 bytes of pixel data
  undefined_length_native()     native pixel data encoded with undefined length (fragments)
  few_fragments()               JPEG Baseline, 3 frames, 1 fragment
  huge_dimensions()             Rows = Columns = 65535, 2^31-1 frames, 16 bytes of pixels
  non_finite_rescale(slope)     varying pixels, Rescale Slope NaN or 1e308 (rendered flat)
  descending(count)             elements in descending tag order (100 000 elements: 1.2 MB)
"""
import struct
import sys
import zlib

EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
SC_STORAGE = "1.2.840.10008.5.1.4.1.1.7"

# VRs whose explicit encoding has two reserved bytes and a 4-byte length (PS3.5 7.1.2).
LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
UNDEFINED = 0xFFFFFFFF


class Encoding:
    def __init__(self, explicit=True, big_endian=False):
        self.explicit = explicit
        self.order = ">" if big_endian else "<"

    def tag(self, group, element):
        return struct.pack(self.order + "HH", group, element)

    def element(self, group, element, vr, value=b"", length=None):
        """One element; `length` overrides the length field (UNDEFINED for undefined length)."""
        if isinstance(value, str):
            value = value.encode("ascii")
        if length is None:
            if len(value) % 2:
                value += b"\0" if vr in ("UI", "OB", "UN") else b" "
            length = len(value)
        head = self.tag(group, element)
        if not self.explicit:
            return head + struct.pack(self.order + "I", length) + value
        if vr in LONG_VRS:
            return head + vr.encode() + b"\0\0" + struct.pack(self.order + "I", length) + value
        return head + vr.encode() + struct.pack(self.order + "H", length) + value

    def us(self, group, element, value):
        return self.element(group, element, "US", struct.pack(self.order + "H", value))

    def item(self, content=b"", length=None):
        """An item header (length given, or undefined) followed by `content`."""
        size = UNDEFINED if length is None else length
        return self.tag(0xFFFE, 0xE000) + struct.pack(self.order + "I", size) + content

    def item_end(self):
        return self.tag(0xFFFE, 0xE00D) + struct.pack(self.order + "I", 0)

    def sequence_end(self):
        return self.tag(0xFFFE, 0xE0DD) + struct.pack(self.order + "I", 0)


def defined_item(enc, content):
    return enc.item(content, len(content))


def part10(dataset, transfer_syntax=EXPLICIT_LE, sop_class=MR_STORAGE, sop_instance="1.2.3.4"):
    """Preamble, "DICM", a file meta information group in explicit VR little endian."""
    le = Encoding()
    meta = (le.element(0x0002, 0x0001, "OB", b"\0\1") + le.element(0x0002, 0x0002, "UI", sop_class)
            + le.element(0x0002, 0x0003, "UI", sop_instance)
            + le.element(0x0002, 0x0010, "UI", transfer_syntax)
            + le.element(0x0002, 0x0012, "UI", "1.2.826.0.1.3680043.9.7433.1"))
    if transfer_syntax == DEFLATED:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, PS3.5 A.5
        dataset = packer.compress(dataset) + packer.flush()
    return b"\0" * 128 + b"DICM" + le.element(0x0002, 0x0000, "UL", struct.pack("<I", len(meta))) + meta + dataset


def identity(enc, sop_instance="1.2.3.4", study="1.2.3", series="1.2.3.1", sop_class=MR_STORAGE):
    return (enc.element(0x0008, 0x0016, "UI", sop_class) + enc.element(0x0008, 0x0018, "UI", sop_instance)
            + enc.element(0x0008, 0x0060, "CS", "MR") + enc.element(0x0010, 0x0010, "PN", "Hostile^Test")
            + enc.element(0x0010, 0x0020, "LO", "HOSTILE1") + enc.element(0x0020, 0x000D, "UI", study)
            + enc.element(0x0020, 0x000E, "UI", series))


def deep_nesting(levels=6000, transfer_syntax=EXPLICIT_LE, defined_length=False):
    """ContentSequence items, each holding the next ContentSequence, `levels` deep."""
    enc = Encoding(explicit=transfer_syntax != IMPLICIT_LE, big_endian=transfer_syntax == EXPLICIT_BE)
    if defined_length:
        body = enc.element(0x0040, 0xA040, "CS", "TEXT")
        for _ in range(levels):
            body = enc.element(0x0040, 0xA730, "SQ", enc.item(body, len(body)))
        nested = body
    else:
        opening = enc.element(0x0040, 0xA730, "SQ", length=UNDEFINED) + enc.item()
        closing = enc.item_end() + enc.sequence_end()
        nested = opening * levels + enc.element(0x0040, 0xA040, "CS", "TEXT") + closing * levels
    return part10(identity(enc) + nested, transfer_syntax)


def many_items(count=300000):
    """ReferencedImageSequence with `count` small items, each with a UID to replace."""
    enc = Encoding()
    items = b"".join(defined_item(enc, enc.element(0x0008, 0x1155, "UI", "1.2.3.4.5.%d" % i)) for i in range(count))
    return part10(identity(enc) + enc.element(0x0008, 0x1140, "SQ", items), EXPLICIT_LE)


def un_uids():
    """What a private-dictionary-less round trip leaves: instance UIDs and names as UN, and a
    sequence as UN (its value in implicit VR little endian, as PS3.5 6.2.2 says)."""
    enc = Encoding()
    implicit = Encoding(explicit=False)
    referenced = implicit.element(0x0008, 0x1155, "UI", "5.5.5.5.8") + implicit.element(0x0020, 0x000E, "UI", "5.5.5.5.3")
    un_sequence = defined_item(implicit, referenced)
    ds = (enc.element(0x0008, 0x0016, "UI", MR_STORAGE)
          + enc.element(0x0008, 0x0018, "UN", b"5.5.5.5.1\0")
          + enc.element(0x0008, 0x0060, "CS", "MR")
          + enc.element(0x0008, 0x1115, "UN", un_sequence)
          + enc.element(0x0008, 0x1140, "SQ", defined_item(enc, enc.element(0x0008, 0x1155, "UN", b"5.5.5.5.9\0")))
          + enc.element(0x0010, 0x0010, "UN", b"Secret^Name ")
          + enc.element(0x0010, 0x0020, "LO", "SECRET-ID")
          + enc.element(0x0010, 0x0030, "UN", b"19700101")
          + enc.element(0x0020, 0x000D, "UN", b"5.5.5.5.2\0")
          + enc.element(0x0020, 0x000E, "UN", b"5.5.5.5.3\0")
          + enc.element(0x0020, 0x0052, "UN", b"5.5.5.5.4\0"))
    return part10(ds, EXPLICIT_LE, sop_instance="5.5.5.5.1")


def image_attributes(enc, rows, columns, bits=16, samples=1, frames=None, photometric="MONOCHROME2"):
    out = enc.us(0x0028, 0x0002, samples) + enc.element(0x0028, 0x0004, "CS", photometric)
    if frames is not None:
        out += enc.element(0x0028, 0x0008, "IS", str(frames))
    return (out + enc.us(0x0028, 0x0010, rows) + enc.us(0x0028, 0x0011, columns) + enc.us(0x0028, 0x0100, bits)
            + enc.us(0x0028, 0x0101, bits) + enc.us(0x0028, 0x0102, bits - 1) + enc.us(0x0028, 0x0103, 0))


def short_pixels(bits=16):
    """512x512 and 2 bytes of pixel data (16 bits allocated: instead of 524 288)."""
    enc = Encoding()
    vr = "OB" if bits <= 8 else "OW"
    return part10(identity(enc) + image_attributes(enc, 512, 512, bits=bits) + enc.element(0x7FE0, 0x0010, vr, b"\1\2"))


def undefined_length_native():
    """Native (explicit VR little endian) pixel data written as if encapsulated."""
    enc = Encoding()
    pixels = bytes(range(256)) * 32  # 64x64 at 16 bits
    encapsulated = enc.item(b"", 0) + enc.item(pixels, len(pixels)) + enc.sequence_end()
    return part10(identity(enc) + image_attributes(enc, 64, 64)
                  + enc.element(0x7FE0, 0x0010, "OW", encapsulated, length=UNDEFINED))


def few_fragments():
    """JPEG Baseline claiming 3 frames with a single (empty-ish) fragment."""
    enc = Encoding()
    fragment = b"\xFF\xD8\xFF\xD9"
    encapsulated = enc.item(b"", 0) + enc.item(fragment, len(fragment)) + enc.sequence_end()
    ds = (identity(enc, sop_class=SC_STORAGE) + image_attributes(enc, 16, 16, bits=8, frames=3)
          + enc.element(0x7FE0, 0x0010, "OB", encapsulated, length=UNDEFINED))
    return part10(ds, JPEG_BASELINE, sop_class=SC_STORAGE)


def non_finite_rescale(slope="nan"):
    """16x16 varying pixels whose Rescale Slope maps them to NaN: they rendered as flat black."""
    enc = Encoding()
    pixels = b"".join(struct.pack("<H", (i * 37) % 1000) for i in range(256))
    return part10(identity(enc) + image_attributes(enc, 16, 16) + enc.element(0x0028, 0x1052, "DS", "0")
                  + enc.element(0x0028, 0x1053, "DS", slope) + enc.element(0x7FE0, 0x0010, "OW", pixels))


def huge_dimensions():
    """Rows x Columns x Bits x Frames far beyond any memory (and 64 bits), and 16 bytes of pixels."""
    enc = Encoding()
    attrs = image_attributes(enc, 65535, 65535, bits=16, frames=2147483647)
    return part10(identity(enc) + attrs + enc.element(0x7FE0, 0x0010, "OW", b"\0" * 16))


def descending(count=100000):
    """`count` elements in descending tag order (DCMTK sorts them in: quadratic)."""
    enc = Encoding()
    tags = [(g, e) for g in range(0x7FDE, 0x0100, -2) for e in range(0xFF00, 0, -0x1000)][:count]
    return part10(identity(enc) + b"".join(enc.element(g, e, "LO", "ab") for g, e in tags))


# The inputs small enough to keep in the repository, by file name.
SMALL = {
    "deep_nesting_200.dcm": lambda: deep_nesting(200),
    "deep_nesting_128.dcm": lambda: deep_nesting(128),
    "un_uids.dcm": un_uids,
    "short_pixels.dcm": short_pixels,
    "short_pixels_1bit.dcm": lambda: short_pixels(1),
    "undefined_length_native.dcm": undefined_length_native,
    "few_fragments.dcm": few_fragments,
    "huge_dimensions.dcm": huge_dimensions,
    "rescale_nan.dcm": non_finite_rescale,
    "rescale_1e308.dcm": lambda: non_finite_rescale("1e308"),
}

LARGE = {
    "deep_nesting_6000.dcm": lambda: deep_nesting(6000),
    "deep_nesting_6000_implicit.dcm": lambda: deep_nesting(6000, IMPLICIT_LE),
    "deep_nesting_6000_big_endian.dcm": lambda: deep_nesting(6000, EXPLICIT_BE),
    "deep_nesting_6000_defined.dcm": lambda: deep_nesting(6000, defined_length=True),
    "deep_nesting_6000_deflated.dcm": lambda: deep_nesting(6000, DEFLATED),
    "many_items_300000.dcm": many_items,
    "descending_100000.dcm": descending,
}


def main(argv):
    if len(argv) < 3 or argv[1] not in ("write", "write-large"):
        print("usage: hostile.py write|write-large DIR [NAME...]", file=sys.stderr)
        return 2
    table = SMALL if argv[1] == "write" else LARGE
    names = argv[3:] or sorted(table)
    for name in names:
        with open(f"{argv[2]}/{name}", "wb") as f:
            f.write(table[name]())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
