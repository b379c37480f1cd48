"""Runs the built wfctl binary with a cleared environment inside a temporary folder."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest

WFCTL = os.environ.get("WFCTL_BIN", os.path.join(os.path.dirname(__file__), "../../build/apps/wfctl/wfctl"))
SOURCE_DIR = os.environ.get("WFCTL_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))
PYDICOM_FILES = "/usr/lib/python3/dist-packages/pydicom/data/test_files"


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
