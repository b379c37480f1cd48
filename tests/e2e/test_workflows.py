"""End-to-end: workflow commands on the local store, exact exit codes, stdout/stderr split."""
import json
import os
import re
import subprocess
import unittest

from harness import WFCTL, SOURCE_DIR, WfctlTestCase

DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
KEYS = ["name", "description", "version", "author", "id", "datetime_created", "datetime_updated", "definition"]

FULL_JSON = json.dumps({"name": "cartesian-reco", "description": "FFT", "version": "1.0", "author": "lab",
                        "definition": {"tasks": [{"id": "fft", "type": "argo"}], "b": 1, "a": 2}})
FULL_YAML = """name: radial-reco
version: 1.10
author: ~
definition:
  tasks:
    - id: grid
      args: {oversampling: 2}
"""


class CrudTest(WfctlTestCase):
    def test_create_get_round_trip_json(self):
        f = self.write("wf.json", FULL_JSON)
        r = self.ok("create", "-f", f, "-o", "json")
        wf = r.json()
        self.assertEqual(list(wf.keys()), KEYS)
        self.assertEqual(wf["id"], 1)
        self.assertRegex(wf["datetime_created"], DATETIME)
        self.assertIsNone(wf["datetime_updated"])
        self.assertEqual(list(wf["definition"].keys()), ["tasks", "b", "a"])
        got = self.ok("get", "1", "-o", "json").json()
        self.assertEqual(got, wf)

    def test_create_yaml_keeps_version_text(self):
        f = self.write("wf.yaml", FULL_YAML)
        r = self.ok("create", "-f", f)
        self.assertEqual(r.text, "workflow/1 created\n")
        wf = self.ok("get", "1", "-o", "json").json()
        self.assertEqual(wf["version"], "1.10")
        self.assertIsNone(wf["author"])
        self.assertEqual(wf["definition"]["tasks"][0]["args"]["oversampling"], 2)

    def test_create_from_stdin_bare_definition_with_flags(self):
        r = self.ok("create", "-f", "-", "--name", "n", "--version", "3", "--author", "a", "-o", "name",
                    input='{"steps": []}')
        self.assertEqual(r.text, "1\n")
        wf = self.ok("get", "1", "-o", "json").json()
        self.assertEqual((wf["name"], wf["version"], wf["author"], wf["definition"]), ("n", "3", "a", {"steps": []}))

    def test_get_yaml_and_table(self):
        self.ok("create", "-f", self.write("wf.json", FULL_JSON))
        y = self.ok("get", "1", "-o", "yaml").text
        self.assertIn("name: cartesian-reco\n", y)
        self.assertIn('version: "1.0"\n', y)  # quoted: it must read back as a string
        t = self.ok("get", "1").text.splitlines()
        self.assertEqual(t[0].split(), ["ID", "NAME", "VERSION", "AUTHOR", "CREATED"])
        self.assertEqual(t[1].split()[:4], ["1", "cartesian-reco", "1.0", "lab"])

    def test_list_formats_and_filters(self):
        for i in range(5):
            self.ok("create", "-f", "-", "--name", f"wf{i % 2}", "--version", str(i), "--author", "x" if i < 3 else "y",
                    input="{}")
        self.assertEqual(self.ok("list", "-o", "name").text, "1\n2\n3\n4\n5\n")
        self.assertEqual(self.ok("list", "-o", "name", "--name", "wf1").text, "2\n4\n")
        self.assertEqual(self.ok("list", "-o", "name", "--author", "y").text, "4\n5\n")
        self.assertEqual(self.ok("list", "-o", "name", "--version", "2").text, "3\n")
        self.assertEqual(self.ok("list", "-o", "name", "--sort-by", "name", "--limit", "2").text, "1\n3\n")
        self.assertEqual(self.ok("list", "-o", "name", "--reverse", "--limit", "1").text, "5\n")
        arr = self.ok("list", "-o", "json").json()
        self.assertEqual(len(arr), 5)
        self.assertEqual(list(arr[0].keys()), KEYS)
        meta = self.ok("list", "--meta", "-o", "json").json()
        self.assertEqual(list(meta[0].keys()), KEYS[:-1])
        table = self.ok("list").text.splitlines()
        self.assertEqual(len(table), 6)
        # aligned: every row's NAME column starts at the same offset as the header's
        col = table[0].index("NAME")
        self.assertTrue(all(row[col - 1] == " " and row[col] != " " for row in table))
        self.assertEqual(len(self.ok("list", "--no-headers").text.splitlines()), 5)
        wide = self.ok("list", "-o", "wide").text.splitlines()[0].split()
        self.assertEqual(wide, ["ID", "NAME", "VERSION", "AUTHOR", "CREATED", "UPDATED", "DESCRIPTION"])

    def test_empty_list(self):
        self.assertEqual(self.ok_no_store(self.store, "list", "-o", "json").text, "[]\n")
        self.assertEqual(self.ok_no_store(self.store, "list").text, "")
        self.assertEqual(self.ok_no_store(self.store, "list", "-o", "yaml").text, "[]\n")
        self.assertFalse(os.path.exists(self.store), "a read must not create the store")

    def test_update_put_semantics_and_definition(self):
        self.ok("create", "-f", self.write("wf.json", FULL_JSON))
        upd = self.write("u.json", json.dumps({"name": "renamed", "version": "2.0"}))
        wf = self.ok("update", "1", "-f", upd, "-o", "json").json()
        self.assertEqual(wf["name"], "renamed")
        self.assertIsNone(wf["description"])  # PUT: omitted optional becomes null
        self.assertIsNone(wf["author"])
        self.assertRegex(wf["datetime_updated"], DATETIME)
        self.assertEqual(wf["definition"]["b"], 1)  # a meta-only document keeps the definition
        wf = self.ok("update", "1", "-f", "-", "-o", "json", input='{"new": true}').json()
        self.assertEqual(wf["definition"], {"new": True})
        self.assertEqual(wf["name"], "renamed")
        r = self.ok("update", "1", "--description", "d")
        self.assertEqual(r.text, "workflow/1 updated\n")
        self.assertEqual(self.ok("get", "1", "-o", "json").json()["description"], "d")

    def test_delete(self):
        for _ in range(3):
            self.ok("create", "-f", "-", "--name", "n", "--version", "1", input="{}")
        self.assertEqual(self.ok("delete", "1", "2").text, "workflow/1 deleted\nworkflow/2 deleted\n")
        self.fails(3, "delete", "3", "7")
        self.assertEqual(self.ok("list", "-o", "name").text, "3\n")  # all or nothing
        self.assertEqual(self.ok("delete", "3", "7", "--ignore-not-found", "-o", "name").text, "3\n")
        self.ok("create", "-f", "-", "--name", "n", "--version", "1", input="{}")
        self.assertEqual(self.ok("list", "-o", "name").text, "4\n")  # never reused

    def test_global_flags_anywhere(self):
        store = os.path.join(self.tmp, "elsewhere")
        self.ok("--store", store, "create", "-f", "-", "--name", "n", "--version", "1", input="{}")
        self.assertEqual(self.ok("list", "--store", store, "-o", "name").text, "1\n")
        self.assertEqual(self.ok("-o", "name", "list", "--store", store).text, "1\n")
        self.assertEqual(self.ok("list", "-o", "name", env={"WFCTL_STORE": store}).text, "1\n")
        self.assertEqual(self.ok_no_store(self.store, "list", "-o", "name").text, "")


class OperatorHabitsTest(WfctlTestCase):
    """What the first user test found: each case here once misbehaved."""

    def test_repeated_ids_in_delete(self):
        self.ok("create", "-f", "-", "--name", "n", "--version", "1", input="{}")
        self.assertEqual(self.ok("delete", "1", "1", "-o", "name").text, "1\n")

    def test_yaml_quotes_what_yaml_readers_would_retype(self):
        for v in ("yes", "no", "on", "off", "0x10", "0o17", "1_000", ".inf", "2001-12-14", "12:30:00", "1.0"):
            self.ok("create", "-f", "-", "--name", "n", "--version", v, input="{}")
        versions = [l.split(":", 1)[1].strip() for l in self.ok("list", "-o", "yaml").text.splitlines()
                    if l.strip().startswith("version:")]
        self.assertEqual(versions, ['"yes"', '"no"', '"on"', '"off"', '"0x10"', '"0o17"', '"1_000"', '".inf"',
                                    '"2001-12-14"', '"12:30:00"', '"1.0"'])

    def test_tables_count_characters_and_keep_one_line_per_row(self):
        self.ok("create", "-f", "-", "--name", "réco-ü", "--version", "1", "--author", "Müller",
                "--description", "two\nlines", input="{}")
        self.ok("create", "-f", "-", "--name", "reco", "--version", "1", "--author", "Muller", input="{}")
        rows = self.ok("list", "-o", "wide").text.splitlines()
        self.assertEqual(len(rows), 3)
        self.assertIn("two\\nlines", rows[1])
        self.assertEqual(rows[1].index("<none>"), rows[2].index("<none>"))
        self.assertEqual(rows[1].index("Müller"), rows[2].index("Muller"))

    def test_plain_messages_for_bad_arguments(self):
        r = self.fails(2)
        self.assertEqual(r.errtext.splitlines()[0], "wfctl: error: a command is required")
        r = self.fails(2, "list", "--limit", "0")
        self.assertEqual(r.errtext.splitlines(), ["wfctl: error: --limit: '0' must be a positive whole number",
                                                  "hint: run 'wfctl list --help' for usage"])
        missing = os.path.join(self.tmp, "missing.json")
        r = self.fails(3, "create", "-f", missing)
        self.assertEqual(r.errtext.splitlines()[0], f"wfctl: error: cannot read {missing}: No such file or directory")
        r = self.fails(2, "create", "-f", "-", "--name", "", "--version", "1", input="{}")
        self.assertEqual(r.errtext.splitlines()[0], "wfctl: error: --name: must not be empty")
        r = self.fails(2, "create", "-f", self.tmp)
        self.assertEqual(r.errtext.splitlines()[0], f"wfctl: error: cannot read {self.tmp}: Is a directory")


class ApplyTest(WfctlTestCase):
    def test_apply_is_idempotent(self):
        f = self.write("wf.yaml", FULL_YAML)
        self.assertEqual(self.ok("apply", "-f", f).text, "workflow/1 created\n")
        before = self.snapshot()
        self.assertEqual(self.ok("apply", "-f", f).text, "workflow/1 unchanged\n")
        self.assertEqual(self.snapshot(), before)
        self.write("wf.yaml", FULL_YAML.replace("oversampling: 2", "oversampling: 3"))
        self.assertEqual(self.ok("apply", "-f", f).text, "workflow/1 configured\n")
        self.assertEqual(self.ok("get", "1", "-o", "json").json()["definition"]["tasks"][0]["args"]["oversampling"], 3)

    def test_apply_multi_document_stream(self):
        stream = "\n---\n".join(f"name: w{i}\nversion: '1'\ndefinition: {{n: {i}}}" for i in range(3))
        r = self.ok("apply", "-f", "-", input=stream)
        self.assertEqual(r.text, "workflow/1 created\nworkflow/2 created\nworkflow/3 created\n")
        r = self.ok("apply", "-f", "-", "-o", "json", input=stream)
        self.assertEqual([w["id"] for w in r.json()], [1, 2, 3])

    def test_bad_document_in_stream_changes_nothing(self):
        stream = "name: a\nversion: '1'\ndefinition: {}\n---\nname: b\nversion: '1'\ndefinition: [1]\n"
        r = self.fails(4, "apply", "-f", "-", input=stream)
        self.assertIn("<stdin>: document 2: definition: must be a JSON object, got an array", r.errtext)
        self.assertFalse(os.path.exists(self.store))


class BadInputTest(WfctlTestCase):
    def setUp(self):
        super().setUp()
        self.ok("create", "-f", "-", "--name", "seed", "--version", "1", input="{}")
        self.before = self.snapshot()

    def tearDown(self):
        self.assertEqual(self.snapshot(), self.before, "a failed command changed the store")

    def test_definition_types(self):
        for value, phrase in (("[1]", "an array"), ('"x"', "a string"), ("null", "null"), ("3", "a number")):
            doc = '{"name": "a", "version": "1", "definition": %s}' % value
            r = self.fails(4, "create", "-f", "-", input=doc)
            self.assertEqual(r.errtext.splitlines()[0],
                             f"wfctl: error: <stdin>: definition: must be a JSON object, got {phrase}")

    def test_missing_fields(self):
        r = self.fails(4, "create", "-f", "-", input='{"version": "1", "definition": {}}')
        self.assertIn("name: field required", r.errtext)
        r = self.fails(4, "create", "-f", "-", input='{"name": "a", "definition": {}}')
        self.assertIn("version: field required", r.errtext)

    def test_malformed_json_and_yaml_positions(self):
        r = self.fails(4, "create", "-f", self.write("bad.json", '{\n  "name": "a",\n  "version" "1"\n}'))
        self.assertRegex(r.errtext, r"bad\.json:3:\d+: invalid JSON")
        r = self.fails(4, "create", "-f", self.write("bad.yaml", "name: a\ndefinition: {x: [1, 2}\n"))
        self.assertRegex(r.errtext, r"bad\.yaml:\d+:\d+: invalid YAML")

    def test_deeply_nested_input_is_refused_not_crashed_on(self):
        deep = '{"a":' * 100000 + "1" + "}" * 100000
        r = self.fails(4, "create", "-f", "-", "--name", "a", "--version", "1", input=deep)
        self.assertIn("nested more than 512 levels deep", r.errtext)
        yaml = "a:\n" + "".join(" " * (i + 1) + "b:\n" for i in range(3000))
        r = self.fails(4, "create", "-f", "-", "--name", "a", "--version", "1", input=yaml)
        self.assertIn("nested more than 512 levels deep", r.errtext)

    def test_bad_ids(self):
        for bad in ("0", "-1", "abc", "18446744073709551616", "1.5", ""):
            r = self.fails(2, "get", bad)
            self.assertIn("workflow id", r.errtext)
        self.fails(3, "get", "99")
        self.fails(3, "update", "99", "--name", "x")

    def test_usage_errors(self):
        self.fails(2, "list", "-o", "xml")
        self.fails(2, "create")
        self.fails(3, "create", "-f", os.path.join(self.tmp, "missing.json"))  # the errno table: ENOENT
        self.fails(2, "frobnicate")
        self.fails(2, "list", "--sort-by", "colour")
        self.fails(2, "list", "--limit", "0")
        self.fails(2, "update", "1")
        self.fails(2, "--store", "ftp://host/x", "list")

    def test_a_remote_store_that_does_not_answer_is_unavailable(self):
        r = self.fails(6, "--store", "http://127.0.0.1:9/api", "list")
        self.assertIn("127.0.0.1:9", r.errtext)


class ConcurrencyTest(WfctlTestCase):
    def test_parallel_creates_lose_nothing(self):
        script = (f'for i in $(seq 200); do "{WFCTL}" create -f - --name p$P --version $i -o name <<< "{{}}" '
                  f'|| echo FAIL >&2; done')
        procs = [subprocess.Popen(["bash", "-c", script], env={**self.env, "P": str(p)},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for p in range(8)]
        ids = []
        for p in procs:
            out, err = p.communicate(timeout=600)
            self.assertEqual(err, b"")
            ids += [int(x) for x in out.split()]
        self.assertEqual(len(ids), 1600)
        self.assertEqual(len(set(ids)), 1600)
        listed = [int(x) for x in self.ok("list", "-o", "name").text.split()]
        self.assertEqual(sorted(ids), listed)


class ExitCodeTest(WfctlTestCase):
    def test_help_and_version(self):
        r = self.ok("--help")
        self.assertIn("create", r.text)
        self.assertRegex(self.ok("--version").text, r"^wfctl \d+\.\d+\.\d+\n$")
        self.assertEqual(list(self.ok("version", "-o", "json").json().keys()), ["wfctl"])

    def test_closed_standard_streams(self):
        # cron and some CI runners start commands with stdin closed: nothing may land on fd 0
        script = f'"{WFCTL}" create -f - --name a --version 1 <&-; echo "create $?"; ' \
                 f'"{WFCTL}" list -o name <&-; echo "list $?"'
        r = subprocess.run(["bash", "-c", script], capture_output=True, env=self.env, text=True)
        self.assertEqual(r.stdout, "create 4\nlist 0\n", r.stderr)
        self.assertIn("empty input", r.stderr)

    def test_store_that_is_a_file(self):
        f = self.write("afile", "x")
        self.fails(2, "--store", f, "list")


if __name__ == "__main__":
    unittest.main()


class BackupRestoreTest(WfctlTestCase):
    """What list/get print in JSON or YAML reads back through apply and create."""

    TRICKY = {"name": "tricky: #1", "version": "1.10", "description": "line1\nline2", "author": "Müller 李",
              "definition": {"s_yes": "yes", "s_num": "1.0", "s_empty": "", "nul": None, "t": True,
                             "i": 12345678901234, "big": 18446744073709551615, "neg": -3, "fl": 1.5e-7, "fl2": 2.0,
                             "arr": [[], {}, [1, "2", None]], "colon": "a: b", "hash": "# no comment",
                             "ml": "a\nb\n", "lead": " x ", "tilde": "~", "date": "2024-01-01", "": "empty key"}}

    def setUp(self):
        super().setUp()
        self.ok("create", "-f", self.write("t.json", json.dumps(self.TRICKY)))
        self.ok("apply", "-f", os.path.join(SOURCE_DIR, "examples", "workflows.yaml"))
        self.ok("create", "-f", os.path.join(SOURCE_DIR, "examples", "radial-reco.yaml"), "--author", "lab")
        self.ok("update", "1", "--description", "changed once")

    def content(self, store):
        """Every workflow without the fields a copy gets anew (id and datetimes)."""
        wfs = self.ok("--store", store, "list", "-o", "json").json()
        return [{k: v for k, v in w.items() if k not in ("id", "datetime_created", "datetime_updated")} for w in wfs]

    def test_list_yaml_and_json_copy_a_store_and_again_is_unchanged(self):
        for fmt in ("yaml", "json"):
            other = os.path.join(self.tmp, f"copy-{fmt}")
            dump = self.ok("list", "-o", fmt).out
            r = self.ok("--store", other, "apply", "-f", "-", input=dump)
            self.assertEqual(r.text.split("\n")[0].split()[-1], "created")
            self.assertEqual(self.content(other), self.content(self.store))
            again = self.ok("--store", other, "apply", "-f", "-", input=self.ok("list", "-o", fmt).out)
            self.assertEqual({l.split()[-1] for l in again.text.splitlines()}, {"unchanged"})
            # The shell pipe of the issue, literally.
            p = subprocess.run(f"'{WFCTL}' list -o {fmt} | '{WFCTL}' --store '{other}' apply -f -", shell=True,
                               capture_output=True, env=self.env, cwd=self.tmp)
            self.assertEqual(p.returncode, 0, p)
            self.assertEqual({l.split()[-1] for l in p.stdout.decode().splitlines()}, {"unchanged"})

    def test_get_output_feeds_create_and_apply(self):
        for fmt in ("json", "yaml"):
            other = os.path.join(self.tmp, f"one-{fmt}")
            one = self.ok("get", "1", "-o", fmt).out
            self.assertEqual(self.ok("--store", other, "create", "-f", "-", "-o", "name", input=one).text, "1\n")
            self.assertEqual(self.content(other), self.content(self.store)[:1])
            self.assertEqual(self.ok("--store", other, "apply", "-f", "-", input=one).text, "workflow/1 unchanged\n")
        # create takes a whole list too (new ids, the same content).
        other = os.path.join(self.tmp, "all")
        self.ok("--store", other, "create", "-f", "-", input=self.ok("list", "-o", "yaml").out)
        self.assertEqual(self.content(other), self.content(self.store))

    def test_yaml_streams_of_get_output(self):
        stream = b"---\n".join(self.ok("get", str(i), "-o", "yaml").out for i in (1, 2, 3))
        other = os.path.join(self.tmp, "stream")
        self.assertEqual(self.ok("--store", other, "apply", "-f", "-", "-o", "name", input=stream).text, "1\n2\n3\n")
        self.assertEqual(self.content(other), self.content(self.store)[:3])

    def test_what_cannot_be_restored_is_refused_whole(self):
        other = os.path.join(self.tmp, "meta")
        r = self.fails(4, "--store", other, "apply", "-f", "-", input=self.ok("list", "--meta", "-o", "json").out)
        self.assertIn("<stdin>: item 1: definition: field required", r.errtext)
        self.ok("create", "-f", self.write("t2.json", json.dumps(self.TRICKY)))  # a second (name, version) twin
        r = self.fails(5, "--store", other, "apply", "-f", "-", input=self.ok("list", "-o", "yaml").out)
        self.assertIn("both name workflow 'tricky: #1' version '1.10'", r.errtext)
        self.assertFalse(os.path.exists(other))


class DisplayWidthTest(WfctlTestCase):
    def test_cjk_and_combining_names_align(self):
        for name in ("李小龍", "Muller", "e\u0301clair", "ｆｕｌｌ"):
            self.ok("create", "-f", "-", "--name", name, "--version", "1", "--author", "x", input="{}")
        rows = self.ok("list").text.splitlines()
        # Each VERSION cell starts at the same terminal column (wide characters count twice,
        # a combining accent not at all).
        import unicodedata

        def column(line, text):
            prefix = line[:line.index(text)]
            return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1
                       for c in prefix)
        cols = {column(r, "   1   ") for r in rows[1:]}
        self.assertEqual(len(cols), 1, rows)
        self.assertEqual(column(rows[0], "VERSION"), cols.pop() + 3)


class YamlOutputTest(WfctlTestCase):
    """YAML that wfctl prints is read back the same by wfctl and by PyYAML (a YAML 1.1 reader)."""

    def test_keys_and_values_other_readers_would_retype_or_refuse(self):
        import yaml
        definition = {"<<": {"a": 1}, "yes": 1, "2001-12-14": 2, "0x10": 3, "1": 4, "null": 5, "": "",
                      "del": "a\u007fb", "ls": "c\u2028d", "nel": "e\u0085f", "bom": "\ufeffg", "f": 1e300,
                      "g": -2.5e-5, "sub": 5e-324, "nested": [[1, [2, []]], {}, [], {"k": [{"a": None}]}],
                      "colon": "a: b", "dash": "- x", "hash": "a #b", "amp": "&x", "star": "*y", "ml": "l1\nl2\n",
                      "tab": "a\tb", "lead": " x", "trail": "x ", "uni": "Müller 李 ☃", "yes_v": "yes", "on": "on"}
        self.ok("create", "-f", "-", input=json.dumps({"name": "k", "version": "1", "definition": definition}))
        text = self.ok("get", "1", "-o", "yaml").text
        self.assertEqual(yaml.safe_load(text)["definition"], definition)
        other = os.path.join(self.tmp, "other")
        self.ok("--store", other, "apply", "-f", "-", input=self.ok("list", "-o", "yaml").out)
        self.assertEqual(self.ok("--store", other, "get", "1", "-o", "json").json()["definition"], definition)
        for raw in ("\u007f", "\u2028", "\u0085", "\ufeff"):
            self.assertNotIn(raw, text)

    def test_an_empty_store_copies_to_nothing(self):
        other = os.path.join(self.tmp, "other")
        for fmt in ("json", "yaml"):
            dump = self.ok_no_store(self.store, "list", "-o", fmt).out
            self.assertEqual(self.ok("--store", other, "apply", "-f", "-", input=dump).text, "")
