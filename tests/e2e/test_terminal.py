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
        code, shown, _ = self.run_on_tty("result", "upload", "1", big, stdout_tty=True, stderr_tty=True)
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
