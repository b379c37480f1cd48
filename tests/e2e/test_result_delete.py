"""End-to-end: `wfctl result delete` removes stored files from the data lake and the index,
all or nothing."""
import os
import subprocess

from harness import PYDICOM_FILES, WfctlTestCase


class ResultDeleteTest(WfctlTestCase):
    def setUp(self):
        super().setUp()
        self.ok("result", "upload", "7", os.path.join(PYDICOM_FILES, "MR_small.dcm"), "--name", "record-7.dcm")
        for name in ("kspace.npy", "notes.txt"):
            self.ok("result", "upload", "7", self.write(name, name.encode() * 10))
        self.ok("result", "upload", "8", self.write("other.bin", b"other"))

    def listed(self, record):
        return self.ok("result", "list", record, "-o", "name").text.split()

    def test_default_one_named_and_all(self):
        self.assertEqual(self.ok("result", "delete", "7").text, "records/7/record-7.dcm deleted\n")
        self.assertEqual(self.listed("7"), ["7/kspace.npy", "7/notes.txt"])
        r = self.ok("result", "delete", "7", "--file", "notes.txt", "-o", "json").json()
        self.assertEqual(r, [{"record_id": 7, "name": "notes.txt", "size": 90}])
        self.ok("result", "upload", "7", self.write("late.bin", b"x"))
        self.assertEqual(self.ok("result", "delete", "7", "--all", "-o", "name").text, "7/kspace.npy\n7/late.bin\n")
        self.assertEqual(self.listed("7"), [])
        self.assertFalse(os.path.exists(os.path.join(self.store, "records", "7")))
        self.assertEqual(self.listed("8"), ["8/other.bin"])  # other records untouched
        # The index forgot them too: nothing of record 7 is left in the database.
        rows = subprocess.run(["sqlite3", os.path.join(self.store, "wfctl.db"),
                               "SELECT count(*) FROM results WHERE record_id = 7"], capture_output=True, text=True)
        self.assertEqual(rows.stdout.strip(), "0")
        self.assertEqual(os.listdir(os.path.join(self.store, "tmp")), [])

    def test_absent_is_exit_3_unless_ignored(self):
        before = self.snapshot()
        r = self.fails(3, "result", "delete", "7", "--file", "missing.bin")
        self.assertEqual(r.errtext.splitlines()[0], "wfctl: error: records/7/missing.bin not found")
        r = self.fails(3, "result", "delete", "9", "--all")
        self.assertEqual(r.errtext.splitlines()[0], "wfctl: error: records/9 holds no files")
        self.fails(3, "result", "delete", "9")
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.ok("result", "delete", "9", "--all", "--ignore-not-found").text, "")
        self.assertEqual(self.ok("result", "delete", "7", "--file", "x", "--ignore-not-found").text, "")
        self.assertEqual(self.snapshot(), before)

    def test_bad_arguments_change_nothing(self):
        before = self.snapshot()
        self.fails(2, "result", "delete", "7", "--all", "--file", "kspace.npy")
        self.fails(2, "result", "delete", "0")
        self.fails(2, "result", "delete", "x")
        self.fails(4, "result", "delete", "7", "--file", "../8/other.bin")
        self.fails(2, "result", "rm", "7")
        self.assertEqual(self.snapshot(), before)

    def test_a_failed_commit_puts_the_files_back(self):
        # The index write fails (a read-only database) after the files were moved out of
        # sight: every file must come back, byte for byte.
        before = self.snapshot()
        db = os.path.join(self.store, "wfctl.db")
        with subprocess.Popen(["sqlite3", db], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as holder:
            holder.stdin.write("BEGIN EXCLUSIVE;\nSELECT 'locked';\n")
            holder.stdin.flush()
            self.assertEqual(holder.stdout.readline().strip(), "locked")
            self.fails(6, "--lock-timeout", "200ms", "result", "delete", "7", "--all")
            holder.stdin.write("ROLLBACK;\n")
            holder.stdin.close()
        self.assertEqual(self.snapshot(), before)
