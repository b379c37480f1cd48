"""End-to-end: one errno table decides the exit code of every file wfctl opens, whatever the
command (the man page's EXIT STATUS lists it): the same condition gives the same code."""
import os
import subprocess

from harness import PYDICOM_FILES, WfctlTestCase, public_wfctl

MR = os.path.join(PYDICOM_FILES, "MR_small.dcm")


class ErrnoTableTest(WfctlTestCase):
    def setUp(self):
        super().setUp()
        os.chmod(self.tmp, 0o755)
        self.ok("create", "-f", "-", "--name", "n", "--version", "1", input="{}")
        self.ok("result", "upload", "1", MR, "--name", "record-1.dcm")
        self.file = self.write("plain.txt", "not a folder")
        self.dir = os.path.join(self.tmp, "a-dir")
        os.makedirs(self.dir)

    def inputs(self, path):
        """Every command that reads a file the user names."""
        return {"create -f": ["create", "-f", path], "apply -f": ["apply", "-f", path],
                "update -f": ["update", "1", "-f", path], "result upload": ["result", "upload", "1", path, "--name", "u"],
                "result info": ["result", "info", path], "--config": ["--config", path, "list"]}

    def outputs(self, path):
        """Every command that writes where the user says."""
        return {"result download -O": ["result", "download", "1", "-O", path],
                "result image --png": ["result", "image", "1", "--png", path],
                "result export --to": ["result", "export", "1", "--to", path],
                "--store": ["--store", path, "create", "-f", "-", "--name", "n", "--version", "1"]}

    def check(self, code, commands, text, exclude=()):
        before = self.snapshot()
        for what, args in commands.items():
            if what in exclude:
                continue
            r = self.fails(code, *args, input="{}")
            self.assertIn(text, r.errtext, (what, r))
        self.assertEqual(self.snapshot(), before)

    def test_missing_file_is_3(self):
        # A missing config is an empty config, not an error.
        self.check(3, self.inputs(os.path.join(self.tmp, "missing.yaml")), "No such file or directory",
                   exclude={"--config"})
        # Output paths whose folder is missing; export creates its tree, a store its folder.
        self.check(3, self.outputs(os.path.join(self.tmp, "no-such-dir", "x")), "No such file or directory",
                   exclude={"result export --to", "--store"})

    def test_not_a_directory_is_2(self):
        below_a_file = os.path.join(self.file, "x")
        self.check(2, self.inputs(below_a_file), "Not a directory")
        self.check(2, self.outputs(below_a_file), "Not a directory")
        self.check(2, {"result export --to": ["result", "export", "1", "--to", self.file],
                       "--store": ["--store", self.file, "list"]}, "Not a directory")

    def test_a_directory_where_a_file_belongs_is_2(self):
        self.check(2, self.inputs(self.dir), "directory")

    def as_nobody(self, args):
        cmd = [public_wfctl(), "--store", self.store, *args]
        if os.geteuid() == 0:
            cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]
        home = os.path.join(self.tmp, "nobody")
        os.makedirs(home, exist_ok=True)
        env = dict(self.env, HOME=home, XDG_CONFIG_HOME=home, XDG_DATA_HOME=home)
        return subprocess.run(cmd, capture_output=True, env=env, cwd="/", input=b"{}", timeout=60)

    def test_permission_is_8(self):
        secret = self.write("secret.json", '{"name": "s", "version": "1", "definition": {}}')
        locked = os.path.join(self.tmp, "locked")
        os.makedirs(locked)
        if os.geteuid() == 0:
            os.chmod(secret, 0o600)  # root's own: nobody cannot read it
            os.chmod(locked, 0o755)  # nobody cannot write into it
        else:
            os.chmod(secret, 0o000)
            os.chmod(locked, 0o555)
        before = self.snapshot()
        for what, args in list(self.inputs(secret).items()) + list(self.outputs(os.path.join(locked, "x")).items()):
            if what == "--store":
                args = ["--store", os.path.join(locked, "s"), *args[2:]]
            elif what in ("create -f", "apply -f", "update -f", "result upload"):
                pass  # these would write the store too: their input is refused first
            p = self.as_nobody(args)
            self.assertEqual(p.returncode, 8, (what, p))
            self.assertIn("Permission denied", p.stderr.decode(), (what, p))
            self.assertEqual(p.stdout, b"", what)
        self.assertEqual(os.listdir(locked), [])
        self.assertEqual(self.snapshot(), before)


class StorePathErrnoTest(WfctlTestCase):
    def test_a_store_through_a_file_is_2_for_every_command(self):
        f = self.write("afile", "x")
        for store in (os.path.join(f, "x"), f):
            for args in (["list"], ["get", "1"], ["result", "list"], ["result", "download", "1"]):
                r = self.fails(2, "--store", store, *args)
                self.assertIn("Not a directory", r.errtext, (store, args))

    def test_a_store_nobody_may_enter_or_read_is_8(self):
        os.chmod(self.tmp, 0o755)
        self.ok("create", "-f", "-", "--name", "n", "--version", "1", input="{}")
        home = os.path.join(self.tmp, "nobody")
        os.makedirs(home)
        env = dict(self.env, HOME=home, XDG_CONFIG_HOME=home, XDG_DATA_HOME=home)

        def run(*args):
            cmd = [public_wfctl(), "--store", self.store, *args]
            if os.geteuid() == 0:
                cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]
            return subprocess.run(cmd, capture_output=True, env=env, cwd="/", stdin=subprocess.DEVNULL, timeout=60)
        if os.geteuid() != 0:
            self.skipTest("needs another user")  # a user cannot lock themselves out of their own files
        os.chmod(self.store, 0o700)  # cannot enter
        for args in (["list"], ["get", "1"], ["result", "list"]):
            p = run(*args)
            self.assertEqual(p.returncode, 8, (args, p))
            self.assertIn("Permission denied", p.stderr.decode())
        os.chmod(self.store, 0o755)
        os.chmod(os.path.join(self.store, "wfctl.db"), 0o600)  # cannot read the database
        p = run("list")
        self.assertEqual(p.returncode, 8, p)
