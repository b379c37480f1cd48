"""End-to-end: hostile DICOM input gets one documented exit code per condition, never a crash.

Inputs come from tests/hostile/dicom: hostile.py writes them (the small ones are kept there),
sweep.py mutates pydicom's test files for the bounded sweep at the end."""
import os
import shutil
import subprocess
import sys
import tempfile

from harness import PYDICOM_FILES, SOURCE_DIR, WFCTL, WfctlTestCase, public_wfctl

HOSTILE = os.path.join(SOURCE_DIR, "tests", "hostile", "dicom")
sys.path.insert(0, HOSTILE)
import hostile  # noqa: E402
import sweep  # noqa: E402

MR = os.path.join(PYDICOM_FILES, "MR_small.dcm")
DEEP = "sequences nested more than 128 levels deep"


class HostileDicomTest(WfctlTestCase):
    def setUp(self):
        super().setUp()
        self.ok("result", "upload", "1", MR, "--name", "record-1.dcm")

    def place(self, record, data):
        """Puts `data` into the lake as record N's result, as a reconstruction service would."""
        folder = os.path.join(self.store, "records", str(record))
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "record-%d.dcm" % record)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def kept(self, name):
        return os.path.join(HOSTILE, name)

    def test_deep_nesting_is_refused_by_every_command(self):
        for name, data in (("explicit", hostile.deep_nesting(6000)),
                           ("implicit", hostile.deep_nesting(6000, hostile.IMPLICIT_LE)),
                           ("big-endian", hostile.deep_nesting(6000, hostile.EXPLICIT_BE)),
                           ("deflated", hostile.deep_nesting(6000, hostile.DEFLATED)),
                           ("defined", hostile.deep_nesting(6000, defined_length=True))):
            with self.subTest(name):
                path = self.write(name + ".dcm", data)
                self.place(2, data)
                before = self.snapshot()
                out = os.path.join(self.tmp, "out")
                for args in (["result", "info", path], ["result", "info", path, "--all", "-o", "json"],
                             ["result", "upload", "3", path], ["result", "image", "2", "--png", out + ".png"],
                             ["result", "export", "2", "--to", out], ["result", "export", "2", "--to", out,
                                                                     "--anonymize"]):
                    r = self.fails(4, *args)
                    self.assertIn(DEEP, r.errtext, args)
                    self.assertIn(".dcm", r.errtext.splitlines()[0], args)  # names the file
                self.assertEqual(self.snapshot(), before)  # upload left no temporary file
                self.assertFalse(os.path.exists(out) or os.path.exists(out + ".png"))

    def test_128_levels_are_fine(self):
        path = self.kept("deep_nesting_128.dcm")
        self.ok("result", "info", path)
        self.ok("result", "upload", "4", path, "--name", "record-4.dcm")
        self.ok("result", "export", "4", "--to", os.path.join(self.tmp, "out"), "--anonymize")
        self.assertIn("level 129", self.fails(4, "result", "info", self.kept("deep_nesting_200.dcm")).errtext)

    def test_un_uids_do_not_survive_anonymization(self):
        self.ok("result", "upload", "5", self.kept("un_uids.dcm"), "--name", "record-5.dcm")
        out = os.path.join(self.tmp, "export")
        written = self.ok("result", "export", "5", "--to", out, "--anonymize").text.split()
        self.assertEqual(len(written), 1)
        with open(written[0], "rb") as f:
            data = f.read()
        for original in (b"5.5.5.5", b"Secret", b"SECRET-ID", b"19700101"):
            self.assertNotIn(original, data)
            self.assertNotIn(original.decode(), written[0])
        self.assertNotIn("35_2e", written[0])
        info = self.ok("result", "info", written[0], "-o", "json").json()
        self.assertTrue(info["SOPInstanceUID"].startswith("2.25."), info)
        self.assertEqual(written[0], os.path.join(out, info["PatientID"], info["StudyInstanceUID"],
                                                  info["SeriesInstanceUID"], info["SOPInstanceUID"] + ".dcm"))

    def test_pixel_data_too_short_for_its_attributes(self):
        png = os.path.join(self.tmp, "x.png")
        for name, text in (("short_pixels.dcm", "need 524288 bytes, the pixel data has 2"),
                           ("short_pixels_1bit.dcm", "need 32768 bytes, the pixel data has 2"),
                           ("huge_dimensions.dcm", "2147483647 frames need"),
                           ("few_fragments.dcm", "3 frames but 1 fragment"),
                           ("undefined_length_native.dcm", "encapsulated (fragments of undefined length)"),
                           ("rescale_nan.dcm", "do not map the stored values to finite numbers")):
            with self.subTest(name):
                with open(self.kept(name), "rb") as f:
                    self.place(6, f.read())
                self.assertIn(text, self.fails(4, "result", "image", "6", "--png", png).errtext)
                self.assertIn(text, self.fails(4, "result", "image", "6", "--png", "-").errtext)
                self.assertFalse(os.path.exists(png))

    def test_export_anonymize_of_fragments_under_a_native_syntax_is_4(self):
        with open(self.kept("undefined_length_native.dcm"), "rb") as f:
            self.place(7, f.read())
        out = os.path.join(self.tmp, "export")
        r = self.fails(4, "result", "export", "7", "--to", out, "--anonymize")
        self.assertIn("cannot be re-encoded", r.errtext)
        self.assertFalse(os.path.exists(out))
        self.ok("result", "export", "7", "--to", out)  # copied as it is

    def test_output_paths_follow_the_errno_table(self):
        plain = self.write("plain.txt", "not a folder")
        missing = os.path.join(self.tmp, "no-such-dir", "x.png")
        self.assertIn("No such file or directory", self.fails(3, "result", "image", "1", "--png", missing).errtext)
        self.assertIn("Not a directory",
                      self.fails(2, "result", "image", "1", "--png", os.path.join(plain, "x.png")).errtext)
        self.assertIn("Not a directory", self.fails(2, "result", "export", "1", "--to", plain).errtext)
        self.assertIn("Not a directory",
                      self.fails(2, "result", "export", "1", "--to", os.path.join(plain, "sub")).errtext)
        # A missing export folder is created, but not a missing parent of it.
        self.assertIn("No such file or directory",
                      self.fails(3, "result", "export", "1", "--to", os.path.join(self.tmp, "new", "tree")).errtext)
        self.ok("result", "export", "1", "--to", os.path.join(self.tmp, "new"))

    def test_unwritable_output_paths_are_8(self):
        os.chmod(self.tmp, 0o755)
        locked = os.path.join(self.tmp, "locked")
        os.makedirs(locked)
        os.chmod(locked, 0o555 if os.geteuid() != 0 else 0o755)
        cmd_prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if os.geteuid() == 0 else []
        home = tempfile.mkdtemp(prefix="wfctl-nobody-")
        os.chmod(home, 0o777)
        self.addCleanup(shutil.rmtree, home, True)
        os.chmod(self.store, 0o755)
        for dirpath, dirs, files in os.walk(self.store):
            for d in dirs:
                os.chmod(os.path.join(dirpath, d), 0o755)
            for f in files:
                os.chmod(os.path.join(dirpath, f), 0o644)
        for args in (["result", "image", "1", "--png", os.path.join(locked, "x.png")],
                     ["result", "export", "1", "--to", os.path.join(locked, "export")],
                     ["result", "export", "1", "--to", locked]):
            with self.subTest(args):
                p = subprocess.run([*cmd_prefix, public_wfctl(), "--store", self.store, *args], capture_output=True,
                                   env=dict(self.env, HOME=home, XDG_CONFIG_HOME=home, XDG_DATA_HOME=home), cwd="/",
                                   stdin=subprocess.DEVNULL, timeout=60)
                self.assertEqual(p.returncode, 8, p)
                self.assertIn("Permission denied", p.stderr.decode(), p)
        self.assertEqual(os.listdir(locked), [])

    def test_bounded_sweep(self):
        """A few hundred seeded mutations of pydicom's files through four commands each."""
        folder = os.path.join(self.tmp, "sweep")
        os.makedirs(folder)
        files = sweep.generate(int(os.environ.get("WFCTL_SWEEP_COUNT", "200")), 20240601, folder)
        env = {k: v for k, v in os.environ.items() if k.startswith(("ASAN_", "UBSAN_", "LSAN_"))}
        codes, problems = sweep.sweep(WFCTL, files, os.path.join(self.tmp, "sweep-root"), env)
        self.assertEqual(problems, [])
        self.assertEqual(set(codes) - sweep.DOCUMENTED, set())
        self.assertGreater(codes[4], 0)  # the sweep does reach the invalid-input paths
        self.assertGreater(codes[0], 0)  # and some mutations are harmless
