"""The source layout STYLE.md describes, checked: no include cycle between files, SQLite only
in store/local/, DCMTK only in dicom/dcmtk/, the library never includes the CLI, and every
header of the library names only library headers."""
import collections
import os
import re
import unittest

from harness import SOURCE_DIR

LIB = os.path.join(SOURCE_DIR, "lib")
APPS = os.path.join(SOURCE_DIR, "apps")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def sources(root):
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith((".hpp", ".cpp")):
                path = os.path.join(d, f)
                yield os.path.relpath(path, root), open(path, encoding="utf-8").read()


class LayoutTest(unittest.TestCase):
    def setUp(self):
        self.includes = {}
        for rel, text in sources(LIB):
            found = []
            for kind, name in INCLUDE.findall(text):
                if kind == '"':
                    name = os.path.normpath(os.path.join(os.path.dirname(rel), name))
                found.append(name)
            self.includes[rel] = found

    def test_no_include_cycle(self):
        graph = {f: [i for i in incs if i in self.includes] for f, incs in self.includes.items()}
        state, cycles = {}, []

        def visit(node, stack):
            state[node] = 1
            stack.append(node)
            for nxt in graph.get(node, ()):
                if state.get(nxt) == 1:
                    cycles.append(stack[stack.index(nxt):] + [nxt])
                elif nxt not in state:
                    visit(nxt, stack)
            stack.pop()
            state[node] = 2

        for node in graph:
            if node not in state:
                visit(node, [])
        self.assertEqual(cycles, [])

    def test_third_party_headers_stay_in_their_folders(self):
        rules = {"sqlite3.h": "wfctl/store/local/", "dcmtk/": "wfctl/dicom/dcmtk/", "openjpeg": "wfctl/dicom/dcmtk/",
                 "curl/": "wfctl/store/remote/", "librdkafka": "wfctl/jobs/"}
        bad = collections.defaultdict(list)
        for f, incs in self.includes.items():
            for inc in incs:
                for lib, folder in rules.items():
                    if inc.startswith(lib) and not f.startswith(folder):
                        bad[f].append(inc)
                    # Inside its folder, only .cpp files and private headers may name it.
                    if inc.startswith(lib) and f.startswith(folder) and f.endswith(".hpp") and lib == "sqlite3.h":
                        bad[f].append(inc)
        self.assertEqual(dict(bad), {})

    def test_library_never_includes_the_cli(self):
        apps = {rel for rel, _ in sources(APPS)}
        for f, incs in self.includes.items():
            for inc in incs:
                self.assertNotIn(os.path.basename(inc), {os.path.basename(a) for a in apps if a.endswith(".hpp")}
                                 - {os.path.basename(x) for x in self.includes}, f)


if __name__ == "__main__":
    unittest.main()
