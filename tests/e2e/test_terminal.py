"""End-to-end: what wfctl does when stdout or stderr is a terminal (a pseudo-terminal here)."""
import os

from harness import PYDICOM_FILES, WfctlTestCase

MR = os.path.join(PYDICOM_FILES, "MR_small.dcm")


class TerminalTest(WfctlTestCase):
    def test_binary_output_refuses_a_terminal(self):
        self.ok("result", "upload", "1", MR, "--name", "record-1.dcm")
        for args in (["result", "image", "1", "--png", "-"], ["result", "image", "1"], ["result", "download", "1"]):
            code, shown, _ = self.run_on_tty(*args, stdout_tty=True, stderr_tty=False)
            self.assertEqual(code, 2, args)
            self.assertEqual(shown, b"", args)  # not one byte of PNG or DICOM on the screen
        code, _, err = self.run_on_tty("result", "image", "1", "--png", "-", stdout_tty=True, stderr_tty=False)
        self.assertEqual(err.decode().splitlines()[0], "wfctl: error: refusing to write binary data to a terminal")
        # Redirected, the same command writes the PNG.
        png = self.ok("result", "image", "1", "--png", "-").out
        self.assertTrue(png.startswith(b"\x89PNG\r\n\x1a\n"))

    def test_the_progress_line_is_cleared_before_the_final_message(self):
        big = self.write("big.bin", os.urandom(64 << 20))
        code, shown, _ = self.run_on_tty("result", "upload", "1", big, "--no-job", stdout_tty=True, stderr_tty=True)
        self.assertEqual(code, 0, shown)
        self.assertIn(b"uploading [", shown)  # a bar was drawn on the terminal
        last = shown.rsplit(b"\r\x1b[K", 1)
        self.assertEqual(len(last), 2, shown)
        # After the bar is erased for the last time comes the message, whole and alone.
        self.assertRegex(last[1].decode(), r"^records/1/big\.bin uploaded: 67108864 bytes, sha256 [0-9a-f]{64}\r?\n$")
        # Not a terminal: no bar at all.
        r = self.ok("result", "upload", "2", big)
        self.assertNotIn(b"uploading", r.err + r.out)

    def test_no_color_and_no_escape_codes_off_a_terminal(self):
        r = self.ok("result", "upload", "1", self.write("x.bin", b"x" * 1000))
        self.assertNotIn(b"\x1b", r.out + r.err)


class TerminalSafetyTest(WfctlTestCase):
    """Text from DICOM files, config files and stores cannot command the terminal."""

    def test_a_dicom_value_with_an_escape_sequence(self):
        import warnings
        import pydicom
        ds = pydicom.dcmread(MR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom says, rightly, that this is no UID
            ds.SOPInstanceUID = "1.2.3\x1b]0;pwned\x07"
        evil = os.path.join(self.tmp, "evil.dcm")
        ds.save_as(evil)
        self.ok("result", "upload", "1", evil, "--name", "record-1.dcm")
        code, shown, _ = self.run_on_tty("result", "info", "1", "-o", "name", stdout_tty=True, stderr_tty=False)
        self.assertEqual(code, 0)
        self.assertNotIn(b"\x1b", shown)
        self.assertNotIn(b"\x07", shown)
        self.assertIn(b"1.2.3\\x1b]0;pwned\\x07", shown)
        for fmt in ("table", "json", "yaml"):
            code, shown, _ = self.run_on_tty("result", "info", "1", "-o", fmt, stdout_tty=True, stderr_tty=False)
            self.assertNotIn(b"\x1b", shown, fmt)
        # Not a terminal: the value as it is, for scripts.
        self.assertEqual(self.ok("result", "info", "1", "-o", "name").out, b"1.2.3\x1b]0;pwned\x07\n")

    def test_context_names_and_c1_controls(self):
        cfg = self.write("c.yaml", 'current-context: "a\\e]0;x\\a"\ncontexts:\n  "a\\e]0;x\\a": {store: /s}\n'
                                   '  "b\\u009b2J": {store: /t}\n')
        for args in (["config", "get-contexts", "-o", "name"], ["config", "current-context"],
                     ["config", "get-contexts"], ["config", "view"]):
            code, shown, _ = self.run_on_tty("--config", cfg, *args, stdout_tty=True, stderr_tty=False)
            self.assertEqual(code, 0, (args, shown))
            self.assertNotIn(b"\x1b", shown, args)
            self.assertNotIn(b"\xc2\x9b", shown, args)
        code, shown, _ = self.run_on_tty("--config", cfg, "config", "get-contexts", "-o", "name", stdout_tty=True,
                                         stderr_tty=False)
        self.assertEqual(shown.decode().split(), ["a\\x1b]0;x\\x07", "b\\u009b2J"])
        # Such names cannot be made through wfctl.
        r = self.fails(2, "config", "set-context", "c\u009b2J", "--store", "/u")
        self.assertIn("invalid context name", r.errtext)
        # An error that quotes such a value on a terminal escapes it too.
        code, shown, _ = self.run_on_tty("--config", cfg, "--context", "z\x1bx", "list", stdout_tty=False,
                                         stderr_tty=True)
        self.assertEqual(code, 2)
        self.assertIn(b"z\\x1bx", shown)
        self.assertNotIn(b"z\x1bx", shown)

    def test_tables_escape_c1_controls_everywhere(self):
        self.ok("create", "-f", "-", input='{"name": "n", "version": "1", "description": "x\\u009b2Jy\\u001b[31m",'
                                           ' "definition": {}}')
        wide = self.ok("list", "-o", "wide").out
        self.assertNotIn(b"\xc2\x9b", wide)
        self.assertNotIn(b"\x1b", wide)
        self.assertIn(b"x\\u009b2Jy\\x1b[31m", wide)
        # JSON keeps the value (escaped as JSON does), so a script loses nothing.
        self.assertEqual(self.ok("get", "1", "-o", "json").json()["description"], "x\u009b2Jy\u001b[31m")


class SpecialOutputsTest(WfctlTestCase):
    """A preview or a download to a device, a FIFO or a symbolic link writes into it; it never
    replaces it with a plain file (as root, `--png /dev/stdout` once replaced /dev/stdout)."""

    def setUp(self):
        super().setUp()
        self.ok("result", "upload", "1", MR, "--name", "record-1.dcm")
        self.null = os.path.join(self.tmp, "mynull")
        if os.geteuid() == 0:
            os.mknod(self.null, 0o666 | __import__("stat").S_IFCHR, os.makedev(1, 3))
        else:
            os.symlink("/dev/null", self.null)
        self.target = self.write("target.png", b"precious")
        self.link = os.path.join(self.tmp, "link.png")
        os.symlink(self.target, self.link)

    def test_png_into_a_device_a_fifo_and_through_a_link(self):
        import stat
        import threading
        self.ok("result", "image", "1", "--png", self.null)
        self.assertFalse(stat.S_ISREG(os.lstat(self.null).st_mode))  # still the device (or the link to it)
        self.ok("result", "image", "1", "--png", self.link)
        self.assertTrue(os.path.islink(self.link))
        with open(self.target, "rb") as f:
            self.assertTrue(f.read().startswith(b"\x89PNG"))  # the link's target was replaced
        fifo = os.path.join(self.tmp, "fifo")
        os.mkfifo(fifo)
        got = []
        reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
        reader.start()
        self.ok("result", "image", "1", "--png", fifo)
        reader.join(30)
        self.assertTrue(got and got[0].startswith(b"\x89PNG"))
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))

    def test_download_into_a_device_and_through_a_link(self):
        import stat
        self.ok("result", "download", "1", "-O", self.null)
        self.assertFalse(stat.S_ISREG(os.lstat(self.null).st_mode))
        r = self.fails(5, "result", "download", "1", "-O", self.link)  # an existing file: --force
        self.ok("result", "download", "1", "-O", self.link, "--force")
        self.assertTrue(os.path.islink(self.link))
        with open(self.target, "rb") as f, open(MR, "rb") as g:
            self.assertEqual(f.read(), g.read())
