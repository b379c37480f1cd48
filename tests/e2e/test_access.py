"""End-to-end: how wfctl shares a store with other processes and other users.

- A write waiting for another process's lock ends at once on Ctrl-C (130) or SIGTERM (143)
  and writes nothing; past --lock-timeout (flag, WFCTL_LOCK_TIMEOUT or context key) it exits
  6; a person at a terminal is told after a second why nothing happens. The lock is held by
  the sqlite3 CLI (BEGIN EXCLUSIVE), as another program would hold it.
- Reads never wait behind a writer and never write: they work on a store the user may read
  but not write (run as `nobody` through setpriv when the suite runs as root), where writes
  exit 8 naming the store.
- A read of a store that does not exist says so in a hint line.
"""
import os
import subprocess
import time

from harness import PYDICOM_FILES, WFCTL, WfctlTestCase, public_wfctl, store_lock

MR = os.path.join(PYDICOM_FILES, "MR_small.dcm")


class LockWaitTest(WfctlTestCase):
    def setUp(self):
        super().setUp()
        self.ok("create", "-f", "-", "--name", "first", "--version", "1", input="{}")
        self.db = os.path.join(self.store, "wfctl.db")

    def create_under_signal(self, sig):
        """`create` while the lock is held, stopped by `timeout -s SIG 3` (time enough to start
        and reach the wait, even in a sanitizer build on a busy machine); (exit, seconds)."""
        start = time.monotonic()
        p = subprocess.run(["timeout", "--preserve-status", "-s", sig, "3", WFCTL, "create", "-f", "-", "--name",
                            "second", "--version", "1", "--lock-timeout", "120s"],
                           input=b"{}", capture_output=True, env=self.env, cwd=self.tmp, timeout=150)
        return p, time.monotonic() - start

    def test_ctrl_c_and_sigterm_end_the_wait_and_write_nothing(self):
        before = self.snapshot()
        for sig, code in (("INT", 130), ("TERM", 143)):
            with store_lock(self.db):
                p, seconds = self.create_under_signal(sig)
            self.assertEqual(p.returncode, code, p)
            self.assertEqual(p.stdout, b"", p)
            self.assertEqual(p.stderr.decode().splitlines()[0],
                             f"wfctl: error: interrupted while waiting for another process's lock on store {self.store}")
            # Far below the 120 s limit: the wait ended when the signal came, not at the limit.
            self.assertLess(seconds, 60, p)
            self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.ok("list", "-o", "name").text, "1\n")

    def test_the_wait_limit_comes_from_flag_env_or_context(self):
        before = self.snapshot()
        ctx = self.write("c.yaml", f"current-context: a\ncontexts:\n  a:\n    store: {self.store}\n    lock-timeout: 300ms\n")
        cases = [(["--lock-timeout", "300ms"], {}, "300ms"), ([], {"WFCTL_LOCK_TIMEOUT": "0.3s"}, "300ms"),
                 (["--config", ctx], {}, "300ms"), (["--lock-timeout", "0"], {}, "0ms")]
        with store_lock(self.db):
            for flags, env, shown in cases:
                for args in (["create", "-f", "-", "--name", "x", "--version", "1"], ["delete", "1"],
                             ["update", "1", "--name", "y"], ["result", "upload", "1", "-", "--name", "f"]):
                    r = self.fails(6, *flags, *args, input="{}", env=env)
                    self.assertTrue(r.errtext.splitlines()[0].endswith(
                        f"store {self.store} is locked by another process (waited {shown})"), r)
            # Reads never wait: even with no wait allowed they go on beside the writer.
            self.assertEqual(self.ok("--lock-timeout", "0", "list", "-o", "name").text, "1\n")
            self.assertEqual(self.ok("--lock-timeout", "0", "get", "1", "-o", "name").text, "1\n")
            self.assertEqual(self.ok("--lock-timeout", "0", "result", "list").text, "")
        self.assertEqual(self.snapshot(), before)
        for bad in ("5y", "-1s", "forever", "25h"):
            r = self.fails(2, "--lock-timeout", bad, "list")
            self.assertEqual(r.errtext.splitlines()[0], f"wfctl: error: --lock-timeout: invalid lock timeout '{bad}'")

    def test_a_terminal_user_is_told_after_a_second(self):
        with store_lock(self.db):
            code, shown, _ = self.run_on_tty("--lock-timeout", "2500ms", "create", "-f", "-", "--name", "x",
                                             "--version", "1", input="{}")
            # The notice first erases the line (a progress bar may be on it).
            lines = shown.replace(b"\r\x1b[K", b"").decode().splitlines()
            self.assertEqual(code, 6, shown)
            self.assertEqual(lines[0], f"wfctl: waiting for another process to release the lock on {self.store} "
                                       "(Ctrl-C to stop)", shown)
            self.assertEqual(sum("waiting for another process" in l for l in lines), 1, shown)
            # Not on a terminal: nothing but the error (fails() checks there is no other line).
            self.fails(6, "--lock-timeout", "1500ms", "create", "-f", "-", "--name", "x", "--version", "1",
                       input="{}")
            # A short wait that succeeds says nothing at all.
        code, shown, _ = self.run_on_tty("create", "-f", "-", "--name", "x", "--version", "1", input="{}")
        self.assertEqual((code, shown), (0, b""))


class ReadOnlyStoreTest(WfctlTestCase):
    """The store belongs to root; `nobody` may read it but not write it."""

    def setUp(self):
        super().setUp()
        os.chmod(self.tmp, 0o755)
        self.bin = public_wfctl()
        self.ok("create", "-f", "-", "--name", "a", "--version", "1", input='{"steps": [1]}')
        self.ok("apply", "-f", "-", input="name: b\nversion: '2'\ndefinition: {x: y}\n")
        self.ok("result", "upload", "1", MR, "--name", "record-1.dcm")
        self.ok("result", "upload", "1", self.write("k.npy", b"\x93NUMPY" + bytes(100)))
        self.reader_home = os.path.join(self.tmp, "nobody-home")
        os.makedirs(self.reader_home)
        if os.geteuid() != 0:  # already unprivileged: take the write permissions away instead
            for dirpath, dirs, files in os.walk(self.store):
                for f in files:
                    os.chmod(os.path.join(dirpath, f), 0o444)
                os.chmod(dirpath, 0o555)

    def as_reader(self, *args, input=None):
        cmd = [self.bin, "--store", self.store, *args]
        if os.geteuid() == 0:
            cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]
        env = dict(self.env, HOME=self.reader_home, XDG_CONFIG_HOME=self.reader_home, XDG_DATA_HOME=self.reader_home)
        p = subprocess.run(cmd, input=input.encode() if input else None, capture_output=True, env=env, cwd="/",
                           stdin=None if input else subprocess.DEVNULL, timeout=60)
        return p

    READS = (["list"], ["list", "-o", "json"], ["get", "1", "-o", "yaml"], ["result", "list"],
             ["result", "list", "1", "-o", "json"], ["result", "download", "1"],
             ["result", "download", "1", "--file", "k.npy"], ["result", "info", "1", "-o", "json"])

    def test_reads_work_and_print_what_the_owner_sees(self):
        before = self.snapshot()
        mine = {}
        for args in self.READS:
            p = subprocess.run([self.bin, "--store", self.store, *args], capture_output=True, env=self.env,
                               cwd=self.tmp, stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 0, p)
            mine[tuple(args)] = p.stdout
        # Also once another program (here the sqlite3 CLI) has closed the database last and
        # so removed its -wal and -shm files, which the reader could not create.
        db = os.path.join(self.store, "wfctl.db")
        for remove_wal in (False, True):
            if remove_wal:
                subprocess.run(["sqlite3", db, "PRAGMA user_version"], check=True, capture_output=True)
                self.assertFalse(os.path.exists(db + "-shm"))
            for args in self.READS:
                theirs = self.as_reader(*args)
                self.assertEqual((theirs.returncode, theirs.stderr), (0, b""), (args, remove_wal, theirs))
                self.assertEqual(theirs.stdout, mine[tuple(args)], args)
        self.assertEqual(self.snapshot(), before)

    def test_writes_exit_8_naming_the_store(self):
        before = self.snapshot()
        for args, stdin in ((["create", "-f", "-", "--name", "c", "--version", "1"], "{}"),
                            (["apply", "-f", "-"], "name: b\nversion: '2'\ndefinition: {x: z}\n"),
                            (["update", "1", "--name", "z"], None), (["delete", "1"], None),
                            (["result", "delete", "1", "--file", "k.npy"], None),
                            (["result", "upload", "1", "-", "--name", "new.bin"], "bytes")):
            p = self.as_reader(*args, input=stdin)
            self.assertEqual(p.returncode, 8, (args, p))
            self.assertEqual(p.stdout, b"", args)
            self.assertIn(self.store, p.stderr.decode().splitlines()[0], (args, p))
        self.assertEqual(self.snapshot(), before)


class MissingStoreTest(WfctlTestCase):
    def test_a_read_of_a_missing_store_says_so(self):
        typo = os.path.join(self.tmp, "stroe")
        for args in (["list"], ["list", "-o", "json"], ["result", "list"]):
            self.ok_no_store(typo, "--store", typo, *args)
        r = self.fails(3, "--store", typo, "get", "1")
        self.assertEqual(r.errtext.splitlines(), ["wfctl: error: workflow 1 not found",
                                                  f"hint: store {typo} does not exist: nothing has been stored there yet"])
        r = self.fails(3, "--store", typo, "result", "download", "1")
        self.assertIn(f"hint: store {typo} does not exist", r.errtext)
        self.assertFalse(os.path.exists(typo))
        # A store that exists but is empty has nothing to hint about.
        self.ok("--store", typo, "create", "-f", "-", "--name", "n", "--version", "1", input="{}")
        self.ok("--store", typo, "delete", "1")
        self.assertEqual(self.ok("--store", typo, "list").text, "")
