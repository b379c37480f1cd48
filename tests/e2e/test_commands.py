"""End-to-end: a word is a command only where it belongs, help, and the small habits of a CLI.

The data-loss bug this guards against: CLI11's fallthrough handed words a subcommand did not
know to its parent, so `wfctl result rm 1` ran the top-level `rm` and deleted workflow 1.
Here every group and every command is tried with every command name of the tree, against a
store with workflows, a result file and a config file that must all stay exactly as they were.
"""
import os

from harness import WfctlTestCase


def command_tree(case):
    """The path (a list of words) of every visible command, from `wfctl __commands`."""
    lines = case.ok("__commands").text.splitlines()
    return [line.split(" ") for line in lines if not line.split(" ")[-1].startswith("-")]


class CommandWordsTest(WfctlTestCase):
    def setUp(self):
        super().setUp()
        self.wf = self.write("w.json", '{"name": "n", "version": "1", "definition": {}}')
        for _ in range(3):
            self.ok("create", "-f", self.wf)
        self.ok("result", "upload", "1", self.write("data.bin", b"payload"))
        r = self.run_wfctl("config", "set-context", "lab", "--store", self.store, "--use")
        self.assertEqual(r.code, 0, r)
        self.config = os.path.join(self.tmp, "config", "wfctl", "config.yaml")
        with open(self.config, "rb") as f:
            self.config_bytes = f.read()
        self.paths = command_tree(self)
        self.names = sorted({p[-1] for p in self.paths} | {"rm", "ls"})  # with the aliases

    def assert_unchanged(self, before, r):
        self.assertEqual(self.snapshot(), before, r)
        with open(self.config, "rb") as f:
            self.assertEqual(f.read(), self.config_bytes, r)

    def test_every_group_refuses_every_other_groups_command_names(self):
        before = self.snapshot()
        groups = {"": [p[0] for p in self.paths if len(p) == 1]}
        for p in self.paths:
            if len(p) == 2:
                groups.setdefault(p[0], []).append(p[1])
        groups["result"] += ["ls"]
        groups["job"] += ["ls"]
        groups[""] += ["rm", "ls"]
        tried = 0
        for group, own in groups.items():
            for name in self.names:
                if name in own:
                    continue
                args = ([group] if group else []) + [name, "1"]
                r = self.fails(2, *args)
                where = "wfctl" + (" " + group if group else "")
                self.assertEqual(r.errtext.splitlines()[0], f"wfctl: error: unknown command '{name}' for '{where}'", r)
                self.assert_unchanged(before, r)
                tried += 1
        self.assertGreater(tried, 40)

    def test_every_command_refuses_a_trailing_command_word(self):
        before = self.snapshot()
        out = os.path.join(self.tmp, "out.bin")
        args = {
            "create": ["-f", self.wf], "get": ["1"], "list": [], "update": ["1", "--description", "changed"],
            "delete": ["1"], "apply": ["-f", self.wf], "result upload": ["1", self.wf, "--name", "new.json"],
            "result list": ["1"], "result download": ["1", "--file", "data.bin", "-O", out],
            "result delete": ["1", "--file", "data.bin"], "result image": ["1", "--png", out], "result info": ["1"],
            "result export": ["1", "--to", out], "result echo": ["A@127.0.0.1:9"],
            "result send": ["1", "--to", "A@127.0.0.1:9"], "config view": [], "config get-contexts": [],
            "config current-context": [], "config use-context": ["lab"],
            "config set-context": ["other", "--store", out], "completion": ["bash"], "version": [], "help": [],
            "job submit": ["1", "--input", "data.bin"], "job list": [], "job get": ["1"], "job wait": ["1"],
            "job cancel": ["1"], "job retry": ["1"], "job logs": ["1"], "worker": ["--once"],
            "serve": ["--listen", "invalid"],
        }
        # Commands whose last positional takes any number of values read the word as a value
        # (a bad id, a command to show help for); they still refuse and change nothing.
        variadic = {"delete", "result export", "result send", "help", "job wait", "job cancel", "job retry"}
        groups = {p[0] for p in self.paths if len(p) == 2}
        leaves = [" ".join(p) for p in self.paths if not (len(p) == 1 and p[0] in groups)]
        self.assertEqual(sorted(leaves), sorted(args))  # a new command must be added here
        for leaf in leaves:
            for name in self.names:
                r = self.run_wfctl(*leaf.split(" "), *args[leaf], name, "2")
                self.assertEqual(r.code, 2, (leaf, name, r))
                self.assertEqual(r.out, b"", (leaf, name, r))
                if leaf not in variadic:
                    self.assertEqual(r.errtext.splitlines()[0],
                                     f"wfctl: error: unknown command '{name}' for 'wfctl {leaf}'", r)
                self.assert_unchanged(before, r)
                self.assertFalse(os.path.exists(out), (leaf, name))

    def test_the_reported_cases(self):
        before = self.snapshot()
        for args in (["result", "rm", "1"], ["version", "rm", "2"], ["config", "delete", "5"], ["get", "3", "rm", "4"],
                     ["result", "create", "-f", self.wf], ["config", "list"]):
            r = self.fails(2, *args)
            self.assertIn("unknown command", r.errtext)
            self.assert_unchanged(before, r)
        self.assertEqual(self.ok("list", "-o", "name").text, "1\n2\n3\n")
        r = self.fails(2, "result", "rm", "1")
        self.assertEqual(r.errtext.splitlines(), ["wfctl: error: unknown command 'rm' for 'wfctl result'",
                                                  "hint: did you mean 'wfctl result delete'?"])

    def test_global_options_work_in_any_position(self):
        other = os.path.join(self.tmp, "other")
        self.ok("--store", other, "create", "-f", self.wf)
        for args in (["--store", other, "result", "list"], ["result", "--store", other, "list"],
                     ["result", "list", "--store", other], ["-o", "json", "result", "list", "--store", other],
                     ["result", "-o", "json", "list", "--store", other], ["result", "list", "--store", other, "-o=json"]):
            self.ok(*args)
        self.assertEqual(self.ok("get", "1", "--store", other, "-o", "name").text, "1\n")
        self.assertEqual(self.ok("--store", "/nowhere", "get", "1", "--store", other, "-o", "name").text, "1\n")  # last wins

    def test_did_you_mean(self):
        r = self.fails(2, "lst")
        self.assertEqual(r.errtext.splitlines(), ["wfctl: error: unknown command 'lst' for 'wfctl'",
                                                  "hint: did you mean 'wfctl list'?"])
        r = self.fails(2, "result", "uplaod", "1", "x")
        self.assertEqual(r.errtext.splitlines()[1], "hint: did you mean 'wfctl result upload'?")
        r = self.fails(2, "config", "set-contxt", "x")
        self.assertEqual(r.errtext.splitlines()[1], "hint: did you mean 'wfctl config set-context'?")
        r = self.fails(2, "config", "delete", "5")
        self.assertEqual(r.errtext.splitlines()[1],
                         "hint: 'delete' is 'wfctl delete'; 'wfctl config' has: view, get-contexts, current-context, "
                         "use-context, set-context")
        r = self.fails(2, "get", "1", "--bogus")
        self.assertEqual(r.errtext.splitlines()[0], "wfctl: error: unknown flag '--bogus' for 'wfctl get'")


class HelpTest(WfctlTestCase):
    def test_help_command_equals_dash_dash_help(self):
        for path in (["result", "upload"], ["config", "set-context"], ["get"], ["result"]):
            self.assertEqual(self.ok("help", *path).text, self.ok(*path, "--help").text)
        self.assertEqual(self.ok("help").text, self.ok("--help").text)
        r = self.fails(2, "help", "result", "lsit")
        self.assertEqual(r.errtext.splitlines(), ["wfctl: error: unknown command 'lsit' for 'wfctl result'",
                                                  "hint: did you mean 'wfctl result list'?"])

    def test_every_command_help_lists_global_options_and_an_example(self):
        for line in self.ok("__commands").text.splitlines():
            words = line.split(" ")
            if words[-1].startswith("-"):
                continue
            text = self.ok(*words, "--help").text
            self.assertIn("\nGlobal Options:\n", text, line)
            for opt in ("--store", "-o,--output", "--context", "--config", "--lock-timeout", "--no-headers"):
                self.assertIn(opt, text.split("Global Options:")[1], (line, opt))
            example = text.split("\nExample:\n")
            self.assertEqual(len(example), 2, line)
            self.assertTrue(any(l.strip().startswith("wfctl " + line) or f"| wfctl " in l or f"wfctl {line}" in l
                                for l in example[1].splitlines()), (line, example[1]))


class HabitsTest(WfctlTestCase):
    def test_short_option_with_equals(self):
        self.ok("create", "-f=-", "--name", "n", "--version", "1", input="{}")
        self.assertEqual(self.ok("list", "-o=json").json(), self.ok("list", "-o", "json").json())
        self.assertEqual(self.ok("get", "1", "-o=name").text, "1\n")
        r = self.fails(2, "list", "-o=xml")
        self.assertEqual(r.errtext.splitlines()[0], "wfctl: error: --output: invalid output format 'xml'")

    def test_version_works_with_a_broken_config(self):
        path = os.path.join(self.tmp, "config", "wfctl", "config.yaml")
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:
            f.write("contexts: {a: [\n")
        self.fails(2, "list")
        self.assertRegex(self.ok("version").text, r"^wfctl \d+\.\d+\.\d+")
        self.assertIn("wfctl", self.ok("version", "-o", "json").json())
        self.assertIn("wfctl", self.ok("version", env={"WFCTL_OUTPUT": "yaml"}).text)
        self.assertRegex(self.ok("--version").text, r"^wfctl \d+\.\d+\.\d+")


class ReviewFindingsTest(WfctlTestCase):
    """Cases a user review found after the first round."""

    def setUp(self):
        super().setUp()
        for _ in range(3):
            self.ok("create", "-f", "-", "--name", "n", "--version", "1", input="{}")

    def test_a_stray_word_is_blamed_on_the_command_it_was_typed_for(self):
        before = self.snapshot()
        r = self.fails(2, "xyz", "delete", "3")
        self.assertEqual(r.errtext.splitlines()[0], "wfctl: error: unknown command 'xyz' for 'wfctl'")
        r = self.fails(2, "resutl", "list")
        self.assertEqual(r.errtext.splitlines(), ["wfctl: error: unknown command 'resutl' for 'wfctl'",
                                                  "hint: did you mean 'wfctl result'?"])
        r = self.fails(2, "config", "xyz", "set-context", "foo")
        self.assertEqual(r.errtext.splitlines()[0], "wfctl: error: unknown command 'xyz' for 'wfctl config'")
        self.assertEqual(self.snapshot(), before)

    def test_version_after_a_command_is_refused_not_obeyed(self):
        before = self.snapshot()
        for args in (["delete", "2", "--version", "1"], ["result", "list", "--version"]):
            r = self.fails(2, *args)
            self.assertIn("unknown flag '--version'", r.errtext)
        self.fails(2, "get", "1", "--version", "3")  # the "3" is refused first, as a second id
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.ok("list", "--version", "1", "-o", "name").text, "1\n2\n3\n")  # list's own
        self.assertRegex(self.ok("--version").text, r"^wfctl \d")

    def test_flag_and_help_hints(self):
        r = self.fails(2, "--stor", "x", "list")
        self.assertEqual(r.errtext.splitlines()[1], "hint: did you mean '--store'?")
        r = self.fails(2, "list", "--sortby", "name")
        self.assertEqual(r.errtext.splitlines()[1], "hint: did you mean '--sort-by'?")
        r = self.fails(2, "help", "delete", "rm")
        self.assertEqual(r.errtext.splitlines()[0], "wfctl: error: 'wfctl delete' has no subcommand 'rm'")
        r = self.fails(2, "result", "image", "1", "--frame", "-1", "--png", "x.png")
        self.assertEqual(r.errtext.splitlines()[0], "wfctl: error: --frame: '-1' must be a whole number of at least 0")
        self.assertIn("\nExample:\n", self.ok("--help").text)
