"""End-to-end: the man page and the shell completions cover every command and option.

`wfctl __commands` (hidden) lists every command path and every option name; the man page and
the three completion scripts must name each of them, so adding an option without documenting
it fails here. The checked-in scripts must equal what `wfctl completion SHELL` prints; after
changing the command tree, regenerate them from the source directory with

    build/apps/wfctl/wfctl completion bash > completions/wfctl.bash
    build/apps/wfctl/wfctl completion zsh > completions/_wfctl
    build/apps/wfctl/wfctl completion fish > completions/wfctl.fish

bash, zsh, fish, man and groff come from scripts/install-deps.sh.
"""
import os
import re
import shutil
import subprocess
import unittest

from harness import WFCTL, SOURCE_DIR, WfctlTestCase

MAN_PAGE = os.path.join(SOURCE_DIR, "man", "wfctl.1")
SCRIPTS = {"bash": "completions/wfctl.bash", "zsh": "completions/_wfctl", "fish": "completions/wfctl.fish"}
REGENERATE = ("regenerate it from the source directory: "
              "build/apps/wfctl/wfctl completion {shell} > {path}")
WFCTL_DIR = os.path.dirname(os.path.abspath(WFCTL))
HELP = {"--help", "-h"}  # every command has them; the man page documents them once


def read(path):
    with open(os.path.join(SOURCE_DIR, path), "rb") as f:
        return f.read()


def command_tree(case):
    """{command path ("" for the root): [option names]} from `wfctl __commands`."""
    tree = {"": []}
    for line in case.ok("__commands").text.splitlines():
        words = line.split(" ")
        if words[-1].startswith("-"):
            tree[" ".join(words[:-1])].append(words[-1])
        else:
            tree[line] = []
    return tree


def roff_sections(text):
    """{(macro, title): body} of every .SH and .SS, with the roff escapes that matter for
    searching undone: \\- is '-', font changes vanish."""
    text = text.replace("\\-", "-")
    text = re.sub(r"\\f[BIRP]", "", text)
    sections, key = {}, ("", "")
    for line in text.splitlines():
        m = re.match(r'^\.(SH|SS)\s+"?(.*?)"?\s*$', line)
        if m:
            key = (m.group(1), m.group(2))
            sections[key] = ""
        elif key in sections:
            sections[key] += line + "\n"
    return sections


def names(option, body):
    return re.search(r"(?<![\w-])" + re.escape(option) + r"(?![\w-])", body) is not None


class DocsTestCase(WfctlTestCase):
    def setUp(self):
        super().setUp()
        self.env["PATH"] = WFCTL_DIR + os.pathsep + self.env["PATH"]
        self.tree = command_tree(self)

    def shell(self, argv, script, **kw):
        self.assertIsNotNone(shutil.which(argv[0]), f"{argv[0]} is not installed: run scripts/install-deps.sh")
        return subprocess.run([*argv, script], capture_output=True, env=self.env, cwd=self.tmp, timeout=120,
                              text=True, **kw)

    def two_stores(self):
        """Workflows 1 and 2 in the default store, 1 to 3 in another store, and a context."""
        for name in ("a", "b"):
            self.ok("create", "-f", "-", "--name", name, "--version", "1", input="{}")
        other = os.path.join(self.tmp, "other")
        for name in ("x", "y", "z"):
            self.ok("--store", other, "create", "-f", "-", "--name", name, "--version", "1", input="{}")
        self.assertEqual(self.run_wfctl("config", "set-context", "lab", "--store", other).code, 0)
        return other


class ManPageTest(DocsTestCase):
    def test_every_command_and_option_is_documented_in_its_section(self):
        with open(MAN_PAGE, encoding="utf-8") as f:
            sections = roff_sections(f.read())
        for path, options in self.tree.items():
            if path:
                key = ("SS", path)
                self.assertIn(key, sections, f"man/wfctl.1 has no '.SS {path}' subsection")
            else:
                key = ("SH", "GLOBAL OPTIONS")
            for option in options:
                if path and option in HELP:
                    continue
                self.assertTrue(names(option, sections[key]),
                                f"man/wfctl.1: {option} of '{path or 'wfctl'}' is not described under {key[1]}")
        for option in ("--help", "-h"):
            self.assertTrue(names(option, sections[("SH", "GLOBAL OPTIONS")]), option)

    def test_man_page_has_the_standard_sections_and_every_exit_status(self):
        with open(MAN_PAGE, encoding="utf-8") as f:
            sections = roff_sections(f.read())
        titles = [title for (macro, title) in sections if macro == "SH"]
        for title in ("NAME", "SYNOPSIS", "DESCRIPTION", "GLOBAL OPTIONS", "COMMANDS", "WORKFLOW DOCUMENTS",
                      "OUTPUT FORMATS", "CONFIGURATION", "ENVIRONMENT", "FILES", "EXIT STATUS", "EXAMPLES",
                      "SEE ALSO"):
            self.assertIn(title, titles)
        statuses = re.findall(r"^\.B (\d+)$", sections[("SH", "EXIT STATUS")], re.M)
        self.assertEqual(statuses, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "130", "143"])
        # The errno table, as lib/wfctl/error.hpp has it.
        errno_table = sections[("SS", "Files")]
        for errno_name in ("ENOENT", "ENOTDIR", "EISDIR", "EACCES", "EROFS", "EEXIST", "ENOSPC", "EDQUOT", "EINTR"):
            self.assertTrue(names(errno_name, errno_table), errno_name)
        env = sections[("SH", "ENVIRONMENT")]
        for var in ("WFCTL_STORE", "WFCTL_OUTPUT", "WFCTL_CONTEXT", "WFCTL_CONFIG", "WFCTL_TOKEN_FILE",
                    "WFCTL_LOCK_TIMEOUT", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "HOME", "NO_COLOR"):
            self.assertTrue(names(var, env), var)

    def test_every_setting_of_the_table_is_documented(self):
        with open(MAN_PAGE, encoding="utf-8") as f:
            sections = roff_sections(f.read())
        rows = [line.split() for line in self.ok("__settings").text.splitlines()]
        self.assertGreaterEqual(len(rows), 4)
        for key, flag, env in rows:
            self.assertTrue(names(env, sections[("SH", "ENVIRONMENT")]), env)
            self.assertTrue(names(key, sections[("SH", "CONFIGURATION")]), key)
            self.assertTrue(names(flag, sections[("SH", "GLOBAL OPTIONS")]), flag)
            self.assertTrue(names(flag, sections[("SS", "config set-context")]), flag)

    def test_man_renders_without_warnings(self):
        self.assertIsNotNone(shutil.which("man"), "man is not installed: run scripts/install-deps.sh")
        env = dict(self.env, MANWIDTH="80")
        r = subprocess.run(["man", "--warnings", "-l", MAN_PAGE], capture_output=True, env=env, text=True,
                           timeout=60)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertIn("EXIT STATUS", r.stdout)
        r = subprocess.run(["groff", "-man", "-ww", "-z", MAN_PAGE], capture_output=True, env=env, text=True,
                           timeout=60)
        self.assertEqual((r.returncode, r.stderr), (0, ""))


class CompletionScriptTest(DocsTestCase):
    def test_checked_in_scripts_equal_the_generated_ones(self):
        for shell, path in SCRIPTS.items():
            generated = self.ok("completion", shell).out
            self.assertTrue(read(path) == generated, f"{path} is stale: " + REGENERATE.format(shell=shell, path=path))

    def test_unknown_shell_is_a_usage_error(self):
        r = self.run_wfctl("completion", "tcsh")
        self.assertEqual(r.code, 2, r)
        self.assertEqual(r.out, b"", r)

    def test_scripts_name_every_command_and_option(self):
        for shell, path in SCRIPTS.items():
            text = read(path).decode()
            for command, options in self.tree.items():
                full = ("wfctl " + command).strip()
                self.assertIn(f"'{full}", text, f"{path} does not complete '{full}'")
                for option in options:
                    if shell == "fish":
                        flag = f"-l {option[2:]}" if option.startswith("--") else f"-s {option[1:]}"
                        self.assertTrue(names(flag, text), f"{path} does not complete {full} {option}")
                    else:
                        self.assertTrue(names(option, text), f"{path} does not complete {full} {option}")
            self.assertNotIn("__commands", text, f"{path} completes the hidden __commands")

    def test_scripts_parse(self):
        for shell, path in SCRIPTS.items():
            r = self.shell([shell, "-n"], os.path.join(SOURCE_DIR, path))
            self.assertEqual((r.returncode, r.stderr), (0, ""), path)


class BashCompletionTest(DocsTestCase):
    def complete(self, *words):
        """COMPREPLY for the words, the last being the one under the cursor."""
        script = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _wfctl; '
                  'printf "%s\\n" "${COMPREPLY[@]}"')
        self.assertIsNotNone(shutil.which("bash"))
        r = subprocess.run(["bash", "-c", script, "bash", os.path.join(SOURCE_DIR, SCRIPTS["bash"]), *words],
                           capture_output=True, env=self.env, cwd=self.tmp, timeout=120, text=True)
        self.assertEqual((r.returncode, r.stderr), (0, ""), words)
        return [line for line in r.stdout.splitlines() if line]

    def test_commands_options_and_values(self):
        self.assertEqual(self.complete("wfctl", "res"), ["result"])
        self.assertEqual(self.complete("wfctl", "result", "up"), ["upload"])
        self.assertEqual(self.complete("wfctl", "config", "use-"), ["use-context"])
        self.assertNotIn("__commands", self.complete("wfctl", ""))
        self.assertIn("json", self.complete("wfctl", "list", "-o", ""))
        self.assertEqual(self.complete("wfctl", "list", "--output", "=", "y"), ["yaml"])  # --output=y
        self.assertEqual(self.complete("wfctl", "ls", "--sort-by", "up"), ["updated"])
        self.assertEqual(self.complete("wfctl", "completion", "z"), ["zsh"])
        # global options work after a subcommand; the subcommand's own ones too
        opts = self.complete("wfctl", "result", "upload", "--")
        for o in ("--force", "--dicom", "--store", "--output", "--no-headers"):
            self.assertIn(o, opts)
        # config set-context --output is its own option: offered once
        self.assertEqual(self.complete("wfctl", "config", "set-context", "--o"), ["--output"])

    def test_workflow_ids_from_the_store_on_the_command_line(self):
        other = self.two_stores()
        self.assertEqual(self.complete("wfctl", "get", ""), ["1", "2"])
        self.assertEqual(self.complete("wfctl", "delete", "1", ""), ["1", "2"])
        self.assertEqual(self.complete("wfctl", "--store", other, "update", ""), ["1", "2", "3"])
        self.assertEqual(self.complete("wfctl", "--context", "lab", "rm", "3", ""), ["1", "2", "3"])
        self.assertEqual(self.complete("wfctl", "get", "1", ""), [])  # get takes one id
        self.assertEqual(self.complete("wfctl", "config", "use-context", ""), ["lab"])
        self.assertEqual(self.complete("wfctl", "get", "--context", ""), ["lab"])

    def test_files(self):
        self.write("wf.yaml", "{}")
        self.assertEqual(self.complete("wfctl", "create", "-f", "wf"), ["wf.yaml"])
        self.assertEqual(self.complete("wfctl", "result", "upload", "7", "wf"), ["wf.yaml"])
        self.assertEqual(self.complete("wfctl", "result", "upload", "wf"), [])  # RECORD is not a file

    def test_record_ids_from_the_store(self):
        for record in ("7", "12", "7"):
            name = f"f{len(os.listdir(self.tmp))}"
            self.assertEqual(self.run_wfctl("result", "upload", record, "-", "--name", name, input=b"x").code, 0)
        self.assertEqual(self.complete("wfctl", "result", "download", ""), ["7", "12"])
        self.assertEqual(self.complete("wfctl", "result", "send", "7", ""), ["7", "12"])


class FishCompletionTest(DocsTestCase):
    def complete(self, line):
        script = f"source {os.path.join(SOURCE_DIR, SCRIPTS['fish'])}; complete -C '{line}'"
        r = self.shell(["fish", "-c"], script)
        self.assertEqual((r.returncode, r.stderr), (0, ""), line)
        return [entry.split("\t")[0] for entry in r.stdout.splitlines()]

    def test_completes(self):
        other = self.two_stores()
        self.assertEqual(self.complete("wfctl res"), ["result"])
        self.assertEqual(self.complete("wfctl config use-c"), ["use-context"])
        self.assertIn("json", self.complete("wfctl list -o "))
        self.assertEqual(self.complete("wfctl get "), ["1", "2"])
        self.assertEqual(self.complete(f"wfctl --store {other} get "), ["1", "2", "3"])
        self.assertEqual(self.complete("wfctl config use-context "), ["lab"])
        self.assertIn("--dicom", self.complete("wfctl result upload --"))
        self.assertIn("--store", self.complete("wfctl result upload --"))


class ZshCompletionTest(DocsTestCase):
    """zsh's completion system needs a terminal; here its builtins are stubbed to print what
    the script offers, which checks the script's walk through the command tree."""

    STUBS = r"""
compdef() { :; }
source "$1"; shift
compadd() { local -a a; while [[ $1 == -* ]]; do [[ $1 == -a ]] && { shift; a=(${(P)1}); }; [[ $1 == -- ]] && { shift; break; }; shift; done; print -rl -- $a "$@"; }
_wanted() { shift 3; "$@"; }
_describe() { shift 3; print -rl -- ${(P)1%%:*}; }
_files() { print -r -- "<files $*>"; }
compset() { :; }
words=("$@"); CURRENT=$#
_wfctl
"""

    def complete(self, *words):
        self.assertIsNotNone(shutil.which("zsh"), "zsh is not installed: run scripts/install-deps.sh")
        r = subprocess.run(["zsh", "-f", "-c", self.STUBS, "zsh", os.path.join(SOURCE_DIR, SCRIPTS["zsh"]), *words],
                           capture_output=True, env=self.env, cwd=self.tmp, timeout=120, text=True)
        self.assertEqual(r.stderr, "", words)
        return r.stdout.splitlines()

    def test_completes(self):
        self.two_stores()
        self.assertIn("result", self.complete("wfctl", "res"))
        self.assertIn("use-context", self.complete("wfctl", "config", ""))
        self.assertEqual(self.complete("wfctl", "get", ""), ["1", "2"])
        self.assertIn("json", self.complete("wfctl", "list", "-o", ""))
        self.assertEqual(self.complete("wfctl", "create", "-f", ""), ["<files >"])
        self.assertEqual(self.complete("wfctl", "config", "use-context", ""), ["lab"])


if __name__ == "__main__":
    unittest.main()
