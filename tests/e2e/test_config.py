"""End-to-end: config file, contexts and precedence as the binary sees them."""
import os

from harness import WfctlTestCase


class ConfigTest(WfctlTestCase):
    def config_path(self):
        return os.path.join(self.tmp, "config", "wfctl", "config.yaml")

    def test_set_use_and_view_contexts(self):
        a = os.path.join(self.tmp, "store-a")
        b = os.path.join(self.tmp, "store-b")
        r = self.run_wfctl("config", "set-context", "a", "--store", a, "--output", "name", "--use")
        self.assertEqual((r.code, r.out), (0, b""), r)
        self.assertIn('context "a" created', r.errtext)
        self.assertEqual(self.run_wfctl("config", "set-context", "b", "--store", b).code, 0)
        self.assertTrue(os.path.exists(self.config_path()))
        self.assertEqual(self.ok("config", "current-context").text, "a\n")
        self.assertEqual(self.ok("config", "get-contexts", "-o", "name").text, "a\nb\n")
        rows = self.ok("config", "get-contexts", "-o", "table").text.splitlines()
        self.assertEqual(rows[0].split(), ["CURRENT", "NAME", "STORE", "OUTPUT"])
        self.assertTrue(rows[1].startswith("*"))

        # the context's store and output apply
        self.assertEqual(self.ok("create", "-f", "-", "--name", "n", "--version", "1", input="{}").text, "1\n")
        self.assertTrue(os.path.exists(os.path.join(a, "wfctl.db")))
        self.assertFalse(os.path.exists(self.store))

        view = self.ok("config", "view", "-o", "json").json()
        self.assertEqual(view["store"], {"value": a, "origin": "context",
                                         "source": f"context a ({self.config_path()})"})
        self.assertEqual(view["output"], {"value": "json", "origin": "flag", "source": "--output"})
        self.assertEqual(self.ok("config", "view", "--no-headers").text.splitlines()[3].split()[:2], ["output", "name"])

        # precedence, row by row, through the binary
        view = self.ok("config", "view", "-o", "json", env={"WFCTL_STORE": b}).json()
        self.assertEqual((view["store"]["value"], view["store"]["origin"]), (b, "env"))
        view = self.ok("--store", "/x", "config", "view", "-o", "json", env={"WFCTL_STORE": b}).json()
        self.assertEqual((view["store"]["value"], view["store"]["origin"]), ("/x", "flag"))
        view = self.ok("config", "view", "-o", "json", "--context", "b").json()
        self.assertEqual(view["store"]["value"], b)
        rows = {l.split()[0]: l.split()[1:] for l in self.ok("config", "view", "--context", "b").text.splitlines()}
        self.assertEqual(rows["output"], ["table", "default"])

        r = self.run_wfctl("config", "use-context", "b")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.ok("config", "current-context").text, "b\n")
        self.fails(3, "config", "use-context", "nope")
        self.fails(2, "--context", "nope", "list")
        self.fails(2, "config", "set-context", "c", "--output", "xml")

    def test_malformed_config_names_file_and_line(self):
        path = self.config_path()
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:
            f.write("current-context: a\ncontexts:\n  a:\n    store: /s\n    colour: red\n")
        r = self.fails(2, "list")
        self.assertIn(f"{path}:5:5: unknown key 'colour'", r.errtext)
        with open(path, "w") as f:
            f.write("contexts: {a: [\n")
        r = self.fails(2, "list")
        self.assertIn(f"{path}:", r.errtext)
        alt = self.write("alt.yaml", "contexts:\n  z:\n    store: " + os.path.join(self.tmp, "z") + "\n")
        z = os.path.join(self.tmp, "z")
        self.assertEqual(self.ok_no_store(z, "--config", alt, "--context", "z", "list", "-o", "json").text, "[]\n")
        self.assertEqual(self.ok_no_store(self.store, "list", "-o", "json", env={"WFCTL_CONFIG": alt}).text, "[]\n")

    def test_bad_default_output_names_its_origin(self):
        r = self.fails(2, "list", env={"WFCTL_OUTPUT": "xml"})
        self.assertEqual(r.errtext.splitlines()[0], "wfctl: error: WFCTL_OUTPUT: invalid output format 'xml'")
        cfg = self.write("c.yaml", "current-context: a\ncontexts:\n  a:\n    output: xml\n")
        r = self.fails(2, "--config", cfg, "list")
        self.assertEqual(r.errtext.splitlines()[0], f"wfctl: error: context a ({cfg}): invalid output format 'xml'")

    def test_no_current_context(self):
        self.fails(3, "config", "current-context")
        self.assertEqual(self.ok("config", "get-contexts").text, "")


class ConfigWritesTest(WfctlTestCase):
    def config_path(self):
        return os.path.join(self.tmp, "config", "wfctl", "config.yaml")

    def test_parallel_set_context_keeps_every_context(self):
        import subprocess
        from harness import WFCTL
        for round_ in range(3):
            procs = [subprocess.Popen([WFCTL, "config", "set-context", f"c{round_}-{i}", "--store", f"/s/{i}"],
                                      env=self.env, cwd=self.tmp, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(8)]
            for p in procs:
                out, err = p.communicate(timeout=60)
                self.assertEqual(p.returncode, 0, err)
        names = self.ok("config", "get-contexts", "-o", "name").text.split()
        self.assertEqual(sorted(names), sorted(f"c{r}-{i}" for r in range(3) for i in range(8)))
        stores = {c["name"]: c["store"] for c in self.ok("config", "get-contexts", "-o", "json").json()}
        self.assertEqual(stores["c2-5"], "/s/5")
        self.assertEqual(sorted(os.listdir(os.path.dirname(self.config_path()))), ["config.yaml", "config.yaml.lock"])

    def test_values_are_checked_when_set(self):
        r = self.run_wfctl("config", "set-context", "good", "--store", "/s", "--lock-timeout", "10s")
        self.assertEqual(r.code, 0, r)
        with open(self.config_path(), "rb") as f:
            before = f.read()
        for args, message in (
                (["--store", ""], "wfctl: error: context good: invalid store ''"),
                (["--output", "xml"], "wfctl: error: context good: invalid output format 'xml'"),
                (["--lock-timeout", "soon"], "wfctl: error: context good: invalid lock timeout 'soon'"),
                (["--token-file", ""], "wfctl: error: context good: invalid token file ''")):
            r = self.fails(2, "config", "set-context", "good", *args)
            self.assertEqual(r.errtext.splitlines()[0], message)
        r = self.fails(2, "config", "set-context", "", "--store", "/x")
        self.assertEqual(r.errtext.splitlines()[0], "wfctl: error: invalid context name ''")
        with open(self.config_path(), "rb") as f:
            self.assertEqual(f.read(), before)
        view = self.ok("config", "view", "-o", "json").json()
        self.assertEqual(view["lock-timeout"], {"value": "30s", "origin": "default", "source": "default"})
        view = self.ok("config", "view", "-o", "json", "--context", "good").json()
        self.assertEqual(view["lock-timeout"]["value"], "10s")
        self.assertEqual(view["lock-timeout"]["origin"], "context")

    def test_config_must_be_a_file(self):
        d = os.path.join(self.tmp, "confdir")
        os.makedirs(d)
        for args in (["list"], ["config", "view"], ["config", "set-context", "x", "--store", "/s"],
                     ["config", "use-context", "x"]):
            r = self.fails(2, "--config", d, *args)
            self.assertEqual(r.errtext.splitlines()[0], f"wfctl: error: config {d} is a directory", r)
        self.assertEqual(os.listdir(d), [])
        self.assertFalse(os.path.exists(d + ".lock"))
        r = self.fails(2, "list", env={"WFCTL_CONFIG": d})
        self.assertIn("is a directory", r.errtext)

    def test_set_context_repairs_nothing_it_cannot_read(self):
        path = self.config_path()
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:
            f.write("contexts: {a: [\n")
        self.fails(2, "config", "set-context", "b", "--store", "/s")
        with open(path) as f:
            self.assertEqual(f.read(), "contexts: {a: [\n")  # a malformed file is never overwritten
