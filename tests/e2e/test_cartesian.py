"""End-to-end: wfctl-cartesian, the example reconstruction, checked against NumPy's own FFT and
read back with pydicom; a Shepp-Logan phantom drawn here, independently, from the published
ellipse table; and the bad inputs it must refuse with one line, a documented exit status and
no file left behind."""
import os
import re
import signal
import subprocess
import time
import unittest

import numpy as np
import pydicom

from harness import SOURCE_DIR, WFCTL, Result, WfctlTestCase

CARTESIAN = os.environ.get("WFCTL_CARTESIAN_BIN") or os.path.join(
    os.path.dirname(os.path.dirname(WFCTL)), "wfctl-cartesian", "wfctl-cartesian")

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"

# Toft's modified Shepp-Logan phantom: intensity, semi-axes a, b, centre x0, y0, angle (degrees).
TOFT_ELLIPSES = [
    (1.0, 0.69, 0.92, 0.0, 0.0, 0),
    (-0.8, 0.6624, 0.8740, 0.0, -0.0184, 0),
    (-0.2, 0.1100, 0.3100, 0.22, 0.0, -18),
    (-0.2, 0.1600, 0.4100, -0.22, 0.0, 18),
    (0.1, 0.2100, 0.2500, 0.0, 0.35, 0),
    (0.1, 0.0460, 0.0460, 0.0, 0.1, 0),
    (0.1, 0.0460, 0.0460, 0.0, -0.1, 0),
    (0.1, 0.0460, 0.0230, -0.08, -0.605, 0),
    (0.1, 0.0230, 0.0230, 0.0, -0.606, 0),
    (0.1, 0.0230, 0.0460, 0.06, -0.605, 0),
]


def shepp_logan(n):
    """The phantom on n x n pixel centres over [-1, 1], y pointing up (row 0 is y = +1)."""
    axis = np.linspace(-1.0, 1.0, n)
    x, y = np.meshgrid(axis, axis[::-1])
    img = np.zeros((n, n))
    for a0, a, b, x0, y0, phi in TOFT_ELLIPSES:
        t = np.deg2rad(phi)
        u = (x - x0) * np.cos(t) + (y - y0) * np.sin(t)
        v = (y - y0) * np.cos(t) - (x - x0) * np.sin(t)
        img[(u / a) ** 2 + (v / b) ** 2 <= 1] += a0
    return img


def centred_magnitude(k):
    return np.abs(np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(k))))


def npy_bytes(header, data=b"", version=(1, 0)):
    """A .npy file with the header text given as is (padded to 64 bytes like NumPy's)."""
    length_size = 2 if version[0] == 1 else 4
    text = header.encode("latin1")
    pad = (-(8 + length_size + len(text) + 1)) % 64
    text += b" " * pad + b"\n"
    return b"\x93NUMPY" + bytes(version) + len(text).to_bytes(length_size, "little") + text + data


class CartesianCase(WfctlTestCase):
    def setUp(self):
        super().setUp()
        self.out = os.path.join(self.tmp, "out")
        os.makedirs(self.out)

    def cartesian(self, *args, timeout=300):
        proc = subprocess.run([CARTESIAN, *args], stdin=subprocess.DEVNULL, capture_output=True, env=self.env,
                              cwd=self.tmp, timeout=timeout)
        return Result(proc)

    def save(self, name, array, version=None):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            if version is None:
                np.save(f, array)
            else:
                np.lib.format.write_array(f, array, version=version)
        return path

    def reconstruct(self, kspace_path, *extra, name="image.dcm"):
        target = os.path.join(self.out, name)
        r = self.cartesian(kspace_path, target, *extra)
        self.assertEqual(r.code, 0, r)
        self.assertEqual((r.out, r.err), (b"", b""), r)
        return pydicom.dcmread(target)

    def assert_magnitude(self, ds, kspace):
        """The image, rescaled, is NumPy's magnitude to within half a 16-bit step."""
        expected = centred_magnitude(np.asarray(kspace, dtype=np.complex128))
        pixels = ds.pixel_array
        self.assertEqual(pixels.dtype, np.uint16)
        self.assertEqual(pixels.shape, expected.shape)
        slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
        got = pixels.astype(np.float64) * slope + intercept
        span = expected.max() - expected.min()
        self.assertGreater(span, 0)
        self.assertAlmostEqual(slope, span / 65535, delta=span / 65535 * 1e-9)
        self.assertLessEqual(np.abs(got - expected).max(), slope / 2 * 1.0001 + 1e-12 * expected.max())
        self.assertEqual((int(pixels.min()), int(pixels.max())), (0, 65535))
        self.assertEqual(int(pixels.flat[expected.argmax()]), 65535)
        self.assertEqual(int(pixels.flat[expected.argmin()]), 0)

    def refuses(self, code, *args, output=None):
        """Exit `code`, nothing on stdout, one error line (a usage error may add a hint), and no
        file left in the output folder, temporary or not."""
        before = sorted(os.listdir(self.out))
        r = self.cartesian(*args)
        self.assertEqual(r.code, code, r)
        self.assertEqual(r.out, b"", r)
        lines = r.errtext.splitlines()
        self.assertTrue(lines and lines[0].startswith("wfctl-cartesian: error: "), r)
        if code == 2:
            self.assertLessEqual(len(lines), 2, r)
            if len(lines) == 2:
                self.assertTrue(lines[1].startswith("hint: "), r)
        else:
            self.assertEqual(len(lines), 1, r)
        self.assertEqual(sorted(os.listdir(self.out)), before, r)
        if output is not None:
            self.assertFalse(os.path.exists(output), r)
        return lines[0]


class PhantomTest(CartesianCase):
    def test_phantom_kspace_is_a_numpy_file_of_the_phantom(self):
        path = os.path.join(self.out, "k.npy")
        r = self.cartesian("--phantom", "96", path)
        self.assertEqual((r.code, r.out, r.err), (0, b"", b""), r)
        k = np.load(path)
        self.assertEqual((k.dtype.str, k.shape, k.flags.c_contiguous), ("<c8", (96, 96), True))
        # The header is byte for byte the one NumPy writes for that array (v1.0, 64-byte aligned).
        with open(path, "rb") as f:
            raw = f.read()
        mine = self.save("numpy.npy", k)
        with open(mine, "rb") as f:
            self.assertEqual(raw, f.read())
        self.assertEqual(len(raw) - 96 * 96 * 8, 128)
        # The k-space is the centred forward FFT of the phantom drawn here.
        expected = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(shepp_logan(96))))
        self.assertGreater(np.corrcoef(np.abs(k).ravel(), np.abs(expected).ravel())[0, 1], 0.99)
        self.assertAlmostEqual(k[48, 48].real, shepp_logan(96).sum(), delta=3.0)  # the DC term

    def test_phantom_to_dicom(self):
        k_path = os.path.join(self.out, "k.npy")
        self.assertEqual(self.cartesian("--phantom", "128", k_path).code, 0)
        k = np.load(k_path)
        first = self.reconstruct(k_path, name="a.dcm")
        second = self.reconstruct(k_path, "--record-id", "42", name="b.dcm")
        for ds in (first, second):
            self.assertEqual(ds.file_meta.TransferSyntaxUID, EXPLICIT_VR_LITTLE_ENDIAN)
            self.assertEqual(ds.file_meta.MediaStorageSOPClassUID, MR_IMAGE_STORAGE)
            self.assertEqual(ds.SOPClassUID, MR_IMAGE_STORAGE)
            self.assertEqual(ds.file_meta.MediaStorageSOPInstanceUID, ds.SOPInstanceUID)
            self.assertEqual(ds.Modality, "MR")
            self.assertEqual(ds.PhotometricInterpretation, "MONOCHROME2")
            self.assertEqual((ds.Rows, ds.Columns, ds.SamplesPerPixel), (128, 128, 1))
            self.assertEqual((ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation), (16, 16, 15, 0))
            self.assertEqual(len(ds.PixelData), 128 * 128 * 2)
            self.assertEqual(ds.InstanceNumber, 1)
            self.assertIn("wfctl-cartesian", ds.StudyDescription)
            self.assertTrue(ds.SeriesDescription)
            self.assertEqual(str(ds.PatientName), "wfctl^phantom")
            self.assertEqual(ds.RescaleType, "US")
            self.assert_magnitude(ds, k)
            # The window spans the magnitudes exactly (LINEAR_EXACT allows a width below 1).
            lo, hi = float(ds.RescaleIntercept), float(ds.RescaleIntercept) + 65535 * float(ds.RescaleSlope)
            self.assertEqual(ds.VOILUTFunction, "LINEAR_EXACT")
            self.assertAlmostEqual(float(ds.WindowCenter) - float(ds.WindowWidth) / 2, lo, delta=(hi - lo) * 1e-6)
            self.assertAlmostEqual(float(ds.WindowCenter) + float(ds.WindowWidth) / 2, hi, delta=(hi - lo) * 1e-6)
            # The picture is the phantom drawn here, and its magnitudes are the phantom's values.
            image = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
            phantom = shepp_logan(128)
            self.assertGreater(np.corrcoef(image.ravel(), phantom.ravel())[0, 1], 0.99)
            self.assertAlmostEqual(float(np.median(image[phantom == 1.0])), 1.0, delta=0.05)
        for uid in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            self.assertNotEqual(getattr(first, uid), getattr(second, uid), uid)
            self.assertTrue(re.fullmatch(r"[0-9.]{1,64}", getattr(first, uid)), uid)
        self.assertEqual((second.PatientID, second.SeriesDescription, second.AccessionNumber),
                         ("record-42", "record 42", "42"))
        self.assertNotIn("42", first.PatientID + first.SeriesDescription + first.AccessionNumber)

    def test_an_upside_down_phantom_does_not_correlate(self):
        # The correlation check above can fail: the same image flipped scores far below 0.99.
        k_path = os.path.join(self.out, "k.npy")
        self.assertEqual(self.cartesian("--phantom", "64", k_path).code, 0)
        ds = self.reconstruct(k_path)
        self.assertLess(np.corrcoef(ds.pixel_array[::-1].ravel(), shepp_logan(64).ravel())[0, 1], 0.95)

    def test_bad_phantom_sizes_are_usage_errors(self):
        for size in ("7", "8193", "0", "-5", "abc", "1e3"):
            self.refuses(2, "--phantom", size, os.path.join(self.out, "k.npy"))
        self.refuses(2, "--phantom", "16")
        self.refuses(2, "--phantom", "16", os.path.join(self.out, "a.npy"), os.path.join(self.out, "b.npy"))
        self.refuses(2, "--phantom", "16", "--record-id", "3", os.path.join(self.out, "k.npy"))

    def test_phantom_into_a_missing_folder(self):
        self.refuses(1, "--phantom", "16", os.path.join(self.tmp, "nowhere", "k.npy"))


class LayoutTest(CartesianCase):
    def kspace(self, rows, cols, seed):
        """A k-space with structure (a shifted blob) and noise, so that any misplaced element or
        axis shows in the comparison."""
        rng = np.random.default_rng(seed)
        y, x = np.mgrid[0:rows, 0:cols]
        img = np.exp(-((y - rows * 0.3) ** 2 / 30 + (x - cols * 0.6) ** 2 / 80)) + 0.05 * rng.random((rows, cols))
        img = img * np.exp(1j * rng.random((rows, cols)))
        return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(img)))

    def test_every_dtype_order_and_byte_order(self):
        k = self.kspace(48, 80, 1)
        for dtype in ("<c8", ">c8", "<c16", ">c16"):
            for fortran in (False, True):
                with self.subTest(dtype=dtype, fortran=fortran):
                    arr = k.astype(dtype)
                    arr = np.asfortranarray(arr) if fortran else np.ascontiguousarray(arr)
                    path = self.save(f"k{dtype[0] == '>'}{dtype[1:]}{fortran}.npy", arr)
                    with open(path, "rb") as f:
                        header = f.read(128).decode("latin1")
                    self.assertIn(f"'descr': '{dtype}'", header)
                    self.assertIn(f"'fortran_order': {fortran}", header)
                    self.assertIn("'shape': (48, 80)", header)
                    self.assert_magnitude(self.reconstruct(path), arr)

    def test_odd_and_thin_shapes(self):
        for rows, cols in ((33, 47), (47, 33), (1, 64), (5, 1), (3, 3)):
            with self.subTest(shape=(rows, cols)):
                k = self.kspace(rows, cols, rows * 100 + cols)
                ds = self.reconstruct(self.save(f"k{rows}x{cols}.npy", np.asfortranarray(k)))
                self.assertEqual((ds.Rows, ds.Columns), (rows, cols))
                self.assert_magnitude(ds, k)

    def test_npy_versions_2_and_3(self):
        k = self.kspace(40, 24, 7).astype(">c16")
        for version in ((2, 0), (3, 0)):
            with self.subTest(version=version):
                path = self.save(f"v{version[0]}.npy", k, version=version)
                with open(path, "rb") as f:
                    self.assertEqual(f.read(8), b"\x93NUMPY" + bytes(version))
                self.assert_magnitude(self.reconstruct(path), k)

    def test_header_keys_in_any_order_with_any_spacing(self):
        k = self.kspace(8, 6, 3).astype("<c16")
        data = np.asfortranarray(k).tobytes(order="F")
        header = "{ 'shape' : ( 8 , 6 , ) ,\n\t\"fortran_order\":True,'descr':'<c16' }"
        path = self.write("spaced.npy", npy_bytes(header, data))
        self.assertTrue(np.array_equal(np.load(path), k))  # NumPy reads it the same way
        self.assert_magnitude(self.reconstruct(path), k)

    def test_a_constant_image(self):
        k = np.zeros((16, 16), dtype=np.complex64)
        k[8, 8] = 16 * 16 * 2.5  # the DC term alone: every pixel of the image is 2.5
        ds = self.reconstruct(self.save("dc.npy", k))
        self.assertEqual(int(ds.pixel_array.max()), 0)
        self.assertEqual((float(ds.RescaleSlope), float(ds.RescaleIntercept)), (1.0, 2.5))
        self.assertGreaterEqual(float(ds.WindowWidth), 1)
        ds = self.reconstruct(self.save("zero.npy", np.zeros((8, 12), dtype=np.complex128)), name="zero.dcm")
        self.assertEqual((int(ds.pixel_array.max()), float(ds.RescaleSlope), float(ds.RescaleIntercept)), (0, 1.0, 0.0))

    def test_output_is_replaced_whole(self):
        target = os.path.join(self.out, "image.dcm")
        with open(target, "wb") as f:
            f.write(b"old")
        k = self.kspace(16, 16, 5)
        self.assert_magnitude(self.reconstruct(self.save("k.npy", k)), k)
        self.assertEqual(sorted(os.listdir(self.out)), ["image.dcm"])
        mask = os.umask(0)
        os.umask(mask)
        self.assertEqual(os.stat(target).st_mode & 0o777, 0o666 & ~mask)


class BadInputTest(CartesianCase):
    def bad(self, code, content, fragment=None):
        src = self.write("bad.npy", content) if isinstance(content, bytes) else content
        target = os.path.join(self.out, "image.dcm")
        line = self.refuses(code, src, target, output=target)
        self.assertTrue(line.startswith(f"wfctl-cartesian: error: reading {src}: "), line)
        if fragment:
            self.assertIn(fragment, line)
        return line

    def valid(self, rows=4, cols=4):
        return np.arange(rows * cols, dtype=np.complex64).reshape(rows, cols).tobytes()

    def test_not_npy(self):
        self.bad(4, b"", "not a .npy file")
        self.bad(4, b"P5\n4 4\n255\n" + bytes(16), "not a .npy file")
        self.bad(4, b"\x93NUMPZ\x01\x00" + bytes(120), "not a .npy file")

    def test_unsupported_versions(self):
        good = npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (4, 4), }", self.valid())
        for version in (b"\x04\x00", b"\x01\x01", b"\x00\x00"):
            self.bad(4, good[:6] + version + good[8:], "unsupported .npy format version")

    def test_wrong_dtypes(self):
        for dtype in ("<f8", "<i2", "<f4", "|u1", "<c32"):
            with self.subTest(dtype=dtype):
                if dtype == "<c32":
                    content = npy_bytes("{'descr': '<c32', 'fortran_order': False, 'shape': (4, 4), }", bytes(512))
                else:
                    content = self.save("x.npy", np.ones((4, 4), dtype=dtype))
                self.bad(4, content, f"unsupported dtype '{dtype}'")

    def test_wrong_ranks(self):
        self.bad(4, self.save("1d.npy", np.ones(16, dtype=np.complex64)), "1 dimension(s)")
        self.bad(4, self.save("3d.npy", np.ones((2, 4, 4), dtype=np.complex64)), "3 dimension(s)")
        self.bad(4, self.save("0d.npy", np.array(1j, dtype=np.complex64)), "0 dimension(s)")

    def test_truncated(self):
        with open(self.save("k.npy", np.ones((8, 8), dtype=np.complex64)), "rb") as f:
            whole = f.read()
        self.bad(4, whole[:-5], "truncated")
        self.bad(4, whole[:128], "truncated")
        self.bad(4, whole[:60], "truncated")
        self.bad(4, whole[:9], "truncated")

    def test_header_that_lies(self):
        data = self.valid(32, 32)
        self.bad(4, npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (64, 64), }", data), "truncated")
        self.bad(4, npy_bytes("{'descr': '<c16', 'fortran_order': False, 'shape': (32, 32), }", data), "truncated")
        self.bad(4, npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (16, 16), }", data),
                 "does not describe the file")
        content = npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (4, 4), }", self.valid())
        self.bad(4, content[:8] + (5000).to_bytes(2, "little") + content[10:], "truncated")

    def test_absurd_dimensions(self):
        for shape in ("(0, 4)", "(4, 0)", "(100000, 100000)", "(65536, 4)", "(20000, 20000)",
                      "(99999999999999999999999, 2)"):
            with self.subTest(shape=shape):
                self.bad(4, npy_bytes(f"{{'descr': '<c8', 'fortran_order': False, 'shape': {shape}, }}", bytes(64)))

    def test_header_garbage(self):
        garbage = [
            "",
            "[1, 2]",
            "{'descr': '<c8', 'fortran_order': False, 'shape': (4, 4), 'extra': 1}",
            "{'descr': '<c8', 'fortran_order': Flase, 'shape': (4, 4)}",
            "{'descr': '<c8' 'fortran_order': False, 'shape': (4, 4)}",
            "{'descr': '<c8', 'fortran_order': False, 'shape': (16)}",
            "{'descr': '<c8', 'fortran_order': False, 'shape': (-4, -4)}",
            "{'descr': '<c8', 'fortran_order': False, 'shape': (4, 4), 'descr': '<c8'}",
            "{'descr': '<c8', 'fortran_order': False}",
            "{'descr': '<c8', 'fortran_order': False, 'shape': (4, 4)} junk",
            "{'descr': '<c8, 'fortran_order': False, 'shape': (4, 4)}",
            "{'descr': '<c8', 'fortran_order': False, 'shape': (04, 4)}",
            "{'descr': '<c8', 'fortran_order': 0, 'shape': (4, 4)}",
            "{'descr': '<c8', 'fortran_order': False, 'shape': (4, 4),,}",
            "{'descr': '<c8', 'fortran_order': False, 'shape': (4 4)}",
            "{'descr': '<c8', 'fortran_order': False, 'shape': (4, 4)",
            "{descr: '<c8', fortran_order: False, shape: (4, 4)}",
            "{'descr': '\\x3cc8', 'fortran_order': False, 'shape': (4, 4)}",
        ]
        for header in garbage:
            with self.subTest(header=header):
                self.bad(4, npy_bytes(header, self.valid()))
        # A NUL or a byte beyond ASCII inside the header, too.
        raw = npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (4, 4), }", self.valid())
        self.bad(4, raw.replace(b"False", b"Fa\x00se"))
        self.bad(4, raw.replace(b"'shape'", b"'sh\xe9pe'"))

    def test_nan_or_infinity_in_the_data(self):
        for value in (np.nan, np.inf):
            k = np.ones((4, 4), dtype=np.complex128)
            k[2, 3] = complex(1, value)
            self.bad(4, self.save("nan.npy", k), "NaN or an infinity")

    def test_missing_or_wrong_kind_of_input(self):
        self.bad(2, os.path.join(self.tmp, "missing.npy"), "No such file or directory")
        self.bad(2, self.out, "not a regular file")

    def test_unwritable_output(self):
        src = self.save("k.npy", np.ones((8, 8), dtype=np.complex64))
        self.refuses(1, src, os.path.join(self.tmp, "nowhere", "image.dcm"))
        os.makedirs(os.path.join(self.out, "adir"))
        self.refuses(1, src, os.path.join(self.out, "adir"))
        self.assertEqual(os.listdir(os.path.join(self.out, "adir")), [])

    def test_a_failure_keeps_the_previous_output(self):
        target = os.path.join(self.out, "image.dcm")
        with open(target, "wb") as f:
            f.write(b"previous")
        self.refuses(4, self.write("bad.npy", b"not npy"), target)
        with open(target, "rb") as f:
            self.assertEqual(f.read(), b"previous")

    def test_usage_errors(self):
        src = self.save("k.npy", np.ones((8, 8), dtype=np.complex64))
        target = os.path.join(self.out, "image.dcm")
        self.refuses(2)
        self.refuses(2, src)
        self.refuses(2, src, target, "third")
        self.refuses(2, src, target, "--record-id", "0")
        self.refuses(2, src, target, "--record-id", "x")
        self.refuses(2, src, target, "--no-such-flag")


class ProgramTest(CartesianCase):
    def test_help_documents_usage_and_exit_statuses(self):
        r = self.cartesian("--help")
        self.assertEqual((r.code, r.err), (0, b""), r)
        for text in ("wfctl-cartesian INPUT.npy OUTPUT.dcm [--record-id N]", "wfctl-cartesian --phantom SIZE OUTPUT.npy",
                     "--version"):
            self.assertIn(text, r.text)
        for code in ("0", "1", "2", "4"):
            self.assertRegex(r.text, rf"(?m)^\s+{code}\s+\w")
        with open(os.path.join(SOURCE_DIR, "man", "wfctl-cartesian.1"), encoding="utf-8") as f:
            man = f.read()
        for code in ("0", "1", "2", "4"):
            self.assertIn(f".B {code}\n", man)

    def test_version_is_the_project_version(self):
        with open(os.path.join(SOURCE_DIR, "CMakeLists.txt"), encoding="utf-8") as f:
            version = re.search(r"project\(wfctl VERSION ([0-9.]+)", f.read()).group(1)
        r = self.cartesian("--version")
        self.assertEqual((r.code, r.text, r.err), (0, f"wfctl-cartesian {version}\n", b""), r)

    def test_only_wfctl_cartesian_links_fftw(self):
        def needed(path):
            out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout
            return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)

        self.assertTrue(any(lib.startswith("libfftw3.") for lib in needed(CARTESIAN)), needed(CARTESIAN))
        self.assertFalse(any("fftw" in lib for lib in needed(WFCTL)), needed(WFCTL))

    def test_an_interrupted_run_leaves_no_file(self):
        target = os.path.join(self.out, "k.npy")
        p = subprocess.Popen([CARTESIAN, "--phantom", "4096", target], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env)
        deadline = time.monotonic() + 60
        while not os.listdir(self.out) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)  # until the temporary file appears
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=120)
        if p.returncode == 0:  # it finished first: then the whole file is there
            self.assertEqual(os.listdir(self.out), ["k.npy"])
            self.assertEqual(np.load(target, mmap_mode="r").shape, (4096, 4096))
        else:
            self.assertEqual(p.returncode, -signal.SIGTERM)
            self.assertEqual(os.listdir(self.out), [])


if __name__ == "__main__":
    unittest.main()
