#!/usr/bin/env python3
"""A hostile sweep: mutated DICOM files through every wfctl command that parses DICOM.

Mutations of pydicom's test files (seeded, so a run can be repeated): bit flips, truncation,
length fields set to huge or odd values, VR swaps, deep nesting inserted, huge or zero sizing
attributes. Each file goes through `result info`, `result info --all -o json`, `result image
--png` and `result export --anonymize`; every run must exit with a documented code (0, 2, 3, 4
or 8), without a signal, without "internal error" and without a sanitizer report.

  sweep.py run --count 3000 --seed 1 [--keep DIR]   the full sweep (by hand, any build)
The e2e suite runs a bounded one (tests/e2e/test_hostile_dicom.py). Standard library only.
"""
import argparse
import collections
import concurrent.futures
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile  # noqa: E402

PYDICOM_FILES = "/usr/lib/python3/dist-packages/pydicom/data/test_files"
# Sources that cover the encodings and the pixel data kinds; all render unmutated.
SOURCES = ["MR_small.dcm", "CT_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm",
           "image_dfl.dcm", "MR_small_RLE.dcm", "JPEG2000.dcm", "SC_rgb_rle_2frame.dcm", "rtdose.dcm",
           "SC_rgb_jpeg_dcmtk.dcm", "MR_small_jpeg_ls_lossless.dcm", "rtplan.dcm", "ExplVR_BigEndNoMeta.dcm",
           "SC_ybr_full_422_uncompressed.dcm", "nested_priv_SQ.dcm", "UN_sequence.dcm"]
DOCUMENTED = {0, 2, 3, 4, 8}
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")
LONG_VRS = hostile.LONG_VRS


def elements(data):
    """(offset, vr, length-field offset, length size, value offset) of each top-level element,
    for the explicit VR little endian part of a Part 10 file (meta and data set); others: []."""
    out = []
    at = 132 if data[128:132] == b"DICM" else 0
    while at + 8 <= len(data):
        vr = data[at + 4:at + 6]
        if not (vr.isalpha() and vr.isupper()):
            break
        if vr.decode() in LONG_VRS:
            length = struct.unpack_from("<I", data, at + 8)[0] if at + 12 <= len(data) else 0
            out.append((at, vr, at + 8, 4, at + 12))
            if length == 0xFFFFFFFF:
                break  # a sequence or fragments of undefined length: stop at the top level
            at += 12 + length
        else:
            length = struct.unpack_from("<H", data, at + 6)[0]
            out.append((at, vr, at + 6, 2, at + 8))
            at += 8 + length
    return out


def find_tag(data, group, element):
    needle = struct.pack("<HH", group, element)
    for e in elements(data):
        if data[e[0]:e[0] + 4] == needle:
            return e
    return None


def mutate(data, rng):
    """One mutated copy of `data` and the name of the mutation."""
    data = bytearray(data)
    kind = rng.choice(["flip", "flip", "truncate", "length", "length", "vr", "nest", "size", "size", "splice"])
    elems = elements(data)
    if kind == "flip" or (not elems and kind in ("length", "vr", "nest", "size")):
        for _ in range(rng.randint(1, 16)):
            at = rng.randrange(len(data))
            data[at] ^= 1 << rng.randrange(8)
        return bytes(data), "flip"
    if kind == "truncate":
        return bytes(data[:rng.randrange(1, len(data))]), "truncate"
    if kind == "length":
        _, _, at, size, _ = rng.choice(elems)
        if size == 4:
            value = rng.choice([0xFFFFFFFF, 0xFFFFFFFE, 0x7FFFFFFF, 0x80000001, rng.randrange(1 << 32) | 1, 0])
            struct.pack_into("<I", data, at, value)
        else:
            struct.pack_into("<H", data, at, rng.choice([0xFFFF, 0xFFFE, 1, 3, rng.randrange(1 << 16)]))
        return bytes(data), "length"
    if kind == "vr":
        at, _, _, _, _ = rng.choice(elems)
        data[at + 4:at + 6] = rng.choice([b"SQ", b"UN", b"OB", b"OW", b"UT", b"XX", b"\0\0", b"na", b"ox"])
        return bytes(data), "vr"
    if kind == "nest":
        at = rng.choice(elems)[0]
        levels = rng.choice([100, 128, 129, 500, 3000, 6000, 20000])
        enc = hostile.Encoding()
        block = ((enc.element(0x0040, 0xA730, "SQ", length=hostile.UNDEFINED) + enc.item()) * levels
                 + (enc.item_end() + enc.sequence_end()) * levels)
        return bytes(data[:at] + block + data[at:]), "nest"
    if kind == "size":
        targets = [(0x0028, 0x0010), (0x0028, 0x0011), (0x0028, 0x0100), (0x0028, 0x0002), (0x0028, 0x0101),
                   (0x0028, 0x0102), (0x0028, 0x0008)]
        found = [e for e in (find_tag(data, *t) for t in targets) if e is not None]
        if not found:
            return mutate(bytes(data), rng)
        at, vr, length_at, _, value_at = rng.choice(found)
        if vr == b"US":
            struct.pack_into("<H", data, value_at, rng.choice([0, 1, 7, 33, 0xFFFF, 0x8000]))
        elif vr == b"IS":
            length = struct.unpack_from("<H", data, length_at)[0]
            text = rng.choice([b"0", b"-1", b"2147483647", b"99999999", b"1e9"]).ljust(length)[:length]
            data[value_at:value_at + length] = text
        return bytes(data), "size"
    # splice: a block of another part of the file copied over this one
    a, b = sorted(rng.randrange(len(data)) for _ in range(2))
    c = rng.randrange(len(data))
    data[c:c + (b - a)] = data[a:b]
    return bytes(data), "splice"


def generate(count, seed, out_dir):
    """Writes `count` mutated files into out_dir; returns their paths and mutation names."""
    rng = random.Random(seed)
    sources = []
    for name in SOURCES:
        path = os.path.join(PYDICOM_FILES, name)
        if os.path.exists(path):
            with open(path, "rb") as f:
                sources.append((name, f.read()))
    files = []
    for i in range(count):
        name, data = rng.choice(sources)
        mutated, kind = mutate(data, rng)
        path = os.path.join(out_dir, "%05d-%s-%s" % (i, kind, name))
        with open(path, "wb") as f:
            f.write(mutated)
        files.append((path, kind))
    return files


class Runner:
    """Runs wfctl with a store of its own: record N holds file N, written straight into the lake."""

    def __init__(self, wfctl, root, env=None):
        self.wfctl = wfctl
        self.root = root
        self.env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": root, "LANG": "C.UTF-8",
                    "XDG_DATA_HOME": os.path.join(root, "data"), "XDG_CONFIG_HOME": os.path.join(root, "config"),
                    "XDG_CACHE_HOME": os.path.join(root, "cache")}
        self.env.update(env or {})
        self.store = os.path.join(root, "data", "wfctl")
        os.makedirs(root, exist_ok=True)
        seed = os.path.join(PYDICOM_FILES, "MR_small.dcm")
        self.run("result", "upload", "1", seed, "--name", "record-1.dcm")  # creates the store

    def run(self, *args, timeout=120):
        p = subprocess.run([self.wfctl, *args], stdin=subprocess.DEVNULL, capture_output=True, env=self.env,
                           cwd=self.root, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def place(self, record, path):
        folder = os.path.join(self.store, "records", str(record))
        os.makedirs(folder, exist_ok=True)
        shutil.copyfile(path, os.path.join(folder, "record-%d.dcm" % record))

    def commands(self, record, path):
        out = os.path.join(self.root, "out-%d" % record)
        os.makedirs(out, exist_ok=True)
        return {"info": ["result", "info", path],
                "info --all": ["result", "info", path, "--all", "-o", "json"],
                "image --png": ["result", "image", str(record), "--png", os.path.join(out, "x.png")],
                "export --anonymize": ["result", "export", str(record), "--to", os.path.join(out, "export"),
                                       "--anonymize"]}


def problem(code, err):
    """Why a run is not acceptable, or None."""
    text = err.decode(errors="replace")
    if code < 0:
        return "signal %d" % -code
    if code not in DOCUMENTED:
        return "exit %d" % code
    if "internal error" in text:
        return "internal error"
    for mark in SANITIZER_MARKS:
        if mark in text:
            return "sanitizer: " + mark
    return None


def sweep(wfctl, files, root, env=None, workers=None):
    """Every file through every command; returns (Counter of exit codes, list of problems)."""
    runner = Runner(wfctl, root, env)
    codes = collections.Counter()
    problems = []

    def one(job):
        record, (path, kind) = job
        runner.place(record, path)
        results = []
        for what, args in runner.commands(record, path).items():
            code, _, err = runner.run(*args)
            results.append((what, code, problem(code, err), err))
        shutil.rmtree(os.path.join(runner.root, "out-%d" % record), ignore_errors=True)
        shutil.rmtree(os.path.join(runner.store, "records", str(record)), ignore_errors=True)
        return path, kind, results

    jobs = list(enumerate(files, start=100))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
        for path, kind, results in pool.map(one, jobs):
            for what, code, why, err in results:
                codes[code] += 1
                if why:
                    problems.append((path, kind, what, why, err.decode(errors="replace")[-2000:]))
    return codes, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["run", "generate"])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wfctl", default=os.path.join(os.path.dirname(__file__), "../../../build/apps/wfctl/wfctl"))
    parser.add_argument("--keep", help="write the files here (and keep them)")
    args = parser.parse_args()
    folder = args.keep or tempfile.mkdtemp(prefix="wfctl-sweep-")
    os.makedirs(folder, exist_ok=True)
    files = generate(args.count, args.seed, folder)
    if args.mode == "generate":
        print("%d files in %s" % (len(files), folder))
        return 0
    root = tempfile.mkdtemp(prefix="wfctl-sweep-store-")
    env = {k: v for k, v in os.environ.items() if k.startswith(("ASAN_", "UBSAN_", "LSAN_"))}
    codes, problems = sweep(os.path.abspath(args.wfctl), files, root, env)
    print("files: %d, runs: %d" % (len(files), sum(codes.values())))
    print("exit codes: " + ", ".join("%d: %d" % (c, n) for c, n in sorted(codes.items())))
    by_kind = collections.Counter(kind for _, kind in files)
    print("mutations: " + ", ".join("%s: %d" % kv for kv in sorted(by_kind.items())))
    for path, kind, what, why, err in problems:
        print("PROBLEM %s (%s) %s: %s\n%s" % (path, kind, what, why, err))
    shutil.rmtree(root, ignore_errors=True)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
