"""End-to-end: store faults and interruptions leave every store as it was."""
import json
import os
import signal
import subprocess
import time

from harness import WFCTL, WfctlTestCase


class StorePathTest(WfctlTestCase):
    def test_a_store_path_is_never_an_sqlite_uri(self):
        # Once an in-memory database: reported "created", exit 0, and gone.
        uri_like = f"file:{self.tmp}/m?mode=memory&x="
        self.ok("--store", uri_like, "create", "-f", "-", "--name", "kept", "--version", "1", input="{}")
        self.assertEqual(self.ok("--store", uri_like, "list", "-o", "name").text, "1\n")
        self.assertTrue(os.path.isfile(os.path.join(self.tmp, uri_like, "wfctl.db")))
        # Once a database in ./rel beside a lake in ./file:rel.
        self.ok("--store", "file:rel", "create", "-f", "-", "--name", "n", "--version", "1", input="{}")
        self.ok("--store", "file:rel", "result", "upload", "1", self.write("x.bin", b"x"))
        self.assertEqual(sorted(os.listdir(os.path.join(self.tmp, "file:rel"))),
                         ["records", "tmp", "wfctl.db", "wfctl.db-shm", "wfctl.db-wal"])
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "rel")))
        # file:// stays the documented scheme for a path.
        self.assertEqual(self.ok("--store", "file://" + os.path.join(self.tmp, "file:rel"), "list", "-o", "name").text, "1\n")


class OutputFailureTest(WfctlTestCase):
    def test_create_into_a_full_stdout_stores_nothing(self):
        with open("/dev/full", "w") as full:
            p = subprocess.run([WFCTL, "create", "-f", "-", "--name", "n", "--version", "1"], input=b"{}",
                               stdout=full, stderr=subprocess.PIPE, env=self.env, cwd=self.tmp)
        self.assertEqual(p.returncode, 6, p.stderr)
        self.assertIn(b"No space left on device", p.stderr)
        self.assertEqual(self.run_wfctl("list", "-o", "name").out, b"")  # nothing was stored
        # A retry creates it once.
        self.ok("create", "-f", "-", "--name", "n", "--version", "1", input="{}")
        self.assertEqual(self.ok("list", "-o", "name").text, "1\n")


class InterruptTest(WfctlTestCase):
    def big_input(self):
        docs = [{"name": f"w{i}", "version": "1", "definition": {"steps": [{"id": j, "x": "y" * 20} for j in range(20)]}}
                for i in range(60_000)]
        return self.write("many.json", json.dumps(docs))

    def test_ctrl_c_and_sigterm_during_a_long_create_or_apply_store_nothing(self):
        self.ok("create", "-f", "-", "--name", "seed", "--version", "1", input="{}")
        before = self.snapshot()
        many = self.big_input()
        for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
            for command in ("create", "apply"):
                p = subprocess.Popen([WFCTL, command, "-f", many, "-o", "name"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=self.env, cwd=self.tmp)
                time.sleep(0.3)  # well inside reading and parsing 60 000 documents
                p.send_signal(sig)
                out, err = p.communicate(timeout=120)
                self.assertEqual(p.returncode, code, (command, sig, err))
                self.assertEqual(out, b"", (command, sig))
                self.assertEqual(self.snapshot(), before, (command, sig))


class KilledDownloadTest(WfctlTestCase):
    def test_kill_9_during_download_leaves_no_temporary_file(self):
        big = self.write("big.bin", b"")
        with open(big, "wb") as f:
            f.truncate(0)
            for _ in range(512):
                f.write(os.urandom(1 << 20))
        self.ok("result", "upload", "1", big)
        out_dir = os.path.join(self.tmp, "out")
        os.makedirs(out_dir)
        for delay in (0.05, 0.15, 0.3):
            p = subprocess.Popen([WFCTL, "result", "download", "1", "--file", "big.bin", "-O", out_dir, "--force"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env, cwd=self.tmp)
            time.sleep(delay)
            p.kill()
            p.wait()
            left = os.listdir(out_dir)
            # Either nothing, or the whole file (if the download finished first): never a part.
            self.assertIn(left, ([], ["big.bin"]), delay)
            if left:
                self.assertEqual(os.path.getsize(os.path.join(out_dir, "big.bin")), 512 << 20)
                os.remove(os.path.join(out_dir, "big.bin"))


class EveryWriteIntoAFullStdoutTest(WfctlTestCase):
    def test_no_write_commits_when_its_output_cannot_be_written(self):
        self.ok("create", "-f", "-", "--name", "a", "--version", "1", input="{}")
        self.ok("result", "upload", "1", self.write("f.bin", b"f"))
        before = self.snapshot()
        new = self.write("g.bin", b"g")
        doc = self.write("d.json", '{"name": "b", "version": "2", "definition": {}}')
        for args in (["create", "-f", doc], ["apply", "-f", doc], ["update", "1", "--name", "z"], ["delete", "1"],
                     ["result", "upload", "1", new], ["result", "delete", "1", "--file", "f.bin"]):
            with open("/dev/full", "w") as full:
                p = subprocess.run([WFCTL, *args], stdout=full, stderr=subprocess.PIPE, env=self.env, cwd=self.tmp,
                                   stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 6, (args, p.stderr))
            self.assertIn(b"nothing was stored", p.stderr, args)
            self.assertEqual(self.snapshot(), before, args)


class InterruptDicomTest(WfctlTestCase):
    def test_ctrl_c_during_a_long_anonymized_export_writes_nothing(self):
        import sys
        from harness import SOURCE_DIR
        sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "hostile", "dicom"))
        import hostile
        big = self.write("many.dcm", hostile.many_items(600_000))  # seconds of anonymizing
        self.ok("result", "upload", "1", big, "--name", "record-1.dcm")
        out = os.path.join(self.tmp, "export")
        for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
            p = subprocess.Popen([WFCTL, "result", "export", "1", "--to", out, "--anonymize"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=self.env, cwd=self.tmp)
            time.sleep(1.0)
            p.send_signal(sig)
            stdout, stderr = p.communicate(timeout=120)
            self.assertEqual(p.returncode, code, stderr)
            self.assertEqual(stdout, b"")
            self.assertFalse(os.path.exists(out), sig)
