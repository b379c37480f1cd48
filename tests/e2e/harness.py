"""Runs the built wfctl binary with a cleared environment inside a temporary folder."""
import atexit
import contextlib
import hashlib
import json
import os
import pty
import select
import shutil
import subprocess
import tempfile
import time
import unittest

WFCTL = os.environ.get("WFCTL_BIN", os.path.join(os.path.dirname(__file__), "../../build/apps/wfctl/wfctl"))
SOURCE_DIR = os.environ.get("WFCTL_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))
PYDICOM_FILES = "/usr/lib/python3/dist-packages/pydicom/data/test_files"


_PUBLIC_PREFIX = None


def public_wfctl():
    """The built wfctl installed (with its DICOM module) into a prefix every user may read and
    run, for tests that run wfctl as another user: the build tree may sit in a private folder."""
    global _PUBLIC_PREFIX
    if _PUBLIC_PREFIX is None:
        build_dir = os.environ.get("WFCTL_BUILD_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(WFCTL))))
        prefix = tempfile.mkdtemp(prefix="wfctl-public-")
        atexit.register(shutil.rmtree, prefix, True)  # the installed copy goes with the test run
        os.chmod(prefix, 0o755)
        subprocess.run(["cmake", "--install", build_dir, "--prefix", prefix], check=True, capture_output=True)
        for dirpath, dirs, files in os.walk(prefix):
            for d in dirs:
                os.chmod(os.path.join(dirpath, d), 0o755)
        _PUBLIC_PREFIX = prefix
    return os.path.join(_PUBLIC_PREFIX, "bin", "wfctl")


@contextlib.contextmanager
def store_lock(db):
    """Holds the store's write lock the way another process would: the sqlite3 CLI inside
    BEGIN EXCLUSIVE, until the block ends."""
    p = subprocess.Popen(["sqlite3", db], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        p.stdin.write("BEGIN EXCLUSIVE;\nSELECT 'locked';\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "locked"
        yield
    finally:
        p.stdin.write("ROLLBACK;\n.quit\n")
        p.stdin.close()
        p.wait(timeout=30)
        p.stdout.close()


def sha256_file(path):
    """The hex SHA-256 of a file, read in 1 MiB pieces."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    @property
    def text(self):
        return self.out.decode()

    @property
    def errtext(self):
        return self.err.decode()

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return f"<exit {self.code} out={self.out[:300]!r} err={self.err[:300]!r}>"


class WfctlTestCase(unittest.TestCase):
    """Each test gets its own HOME, XDG folders and store; no WFCTL_* leaks in."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="wfctl-e2e-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.home)
        self.env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": self.home,
            "XDG_DATA_HOME": os.path.join(self.tmp, "data"),
            "XDG_CONFIG_HOME": os.path.join(self.tmp, "config"),
            "XDG_CACHE_HOME": os.path.join(self.tmp, "cache"),
            "LANG": "C.UTF-8",
        }
        self.store = os.path.join(self.tmp, "data", "wfctl")

    def run_wfctl(self, *args, input=None, env=None, timeout=120):
        e = dict(self.env)
        if env:
            e.update(env)
        if isinstance(input, str):
            input = input.encode()
        stdin = subprocess.DEVNULL if input is None else None  # never the runner's own stdin
        proc = subprocess.run([WFCTL, *args], input=input, stdin=stdin, capture_output=True, env=e,
                              timeout=timeout, cwd=self.tmp)
        return Result(proc)

    def ok(self, *args, **kw):
        r = self.run_wfctl(*args, **kw)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.err, b"", r)
        return r

    def wait_for(self, predicate, timeout=30, what="condition"):
        """Polls `predicate` every 50 ms until it returns something true (returned), failing
        the test after `timeout` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        self.fail(f"timed out waiting for {what}")

    def run_on_tty(self, *args, stdout_tty=False, stderr_tty=True, input=None, env=None, timeout=60):
        """Runs wfctl with stdout and/or stderr on a pseudo-terminal; returns (exit, what the
        terminal showed, the other stream's bytes)."""
        e = dict(self.env)
        if env:
            e.update(env)
        master, slave = pty.openpty()
        other = subprocess.PIPE
        p = subprocess.Popen([WFCTL, *args], stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                             stdout=slave if stdout_tty else other, stderr=slave if stderr_tty else other,
                             env=e, cwd=self.tmp)
        os.close(slave)
        if input is not None:
            p.stdin.write(input.encode() if isinstance(input, str) else input)
            p.stdin.close()
        shown = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                if not chunk:
                    break
                shown += chunk
            elif p.poll() is not None:
                break
        os.close(master)
        pipe = p.stdout or p.stderr
        rest = pipe.read() if pipe else b""
        if pipe:
            pipe.close()
        p.wait(timeout=timeout)
        return p.returncode, shown, rest

    def ok_no_store(self, store, *args, **kw):
        """A read on a store that does not exist: exit 0 and, on stderr, only the hint saying so."""
        r = self.run_wfctl(*args, **kw)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.errtext, f"hint: store {store} does not exist: nothing has been stored there yet\n", r)
        return r

    def fails(self, code, *args, **kw):
        """Asserts exit `code`, nothing on stdout, and exactly one 'wfctl: error:' line (plus an
        optional hint line) on stderr."""
        r = self.run_wfctl(*args, **kw)
        self.assertEqual(r.code, code, r)
        self.assertEqual(r.out, b"", r)
        lines = r.errtext.splitlines()
        self.assertTrue(lines and lines[0].startswith("wfctl: error: "), r)
        self.assertLessEqual(len(lines), 2, r)
        if len(lines) == 2:
            self.assertTrue(lines[1].startswith("hint: "), r)
        return r

    def write(self, name, content):
        path = os.path.join(self.tmp, name)
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(path, mode) as f:
            f.write(content)
        return path

    def snapshot(self, root=None):
        """Every file under the store with its bytes, to prove a failed command changed nothing.
        The SQLite WAL/SHM files are compared through the database's logical content."""
        root = root or self.store
        snap = {}
        if not os.path.exists(root):
            return snap
        for dirpath, _, files in os.walk(root):
            for f in files:
                p = os.path.join(dirpath, f)
                rel = os.path.relpath(p, root)
                if rel.startswith("wfctl.db"):
                    continue
                with open(p, "rb") as fh:
                    snap[rel] = fh.read()
        db = os.path.join(root, "wfctl.db")
        if os.path.exists(db):
            snap["<db>"] = subprocess.run(["sqlite3", db, ".dump"], capture_output=True, check=True).stdout
        return snap
