"""End-to-end: `wfctl result export` is all or nothing and prints what it wrote."""
import os

from harness import PYDICOM_FILES, WfctlTestCase

MR = os.path.join(PYDICOM_FILES, "MR_small.dcm")
CT = os.path.join(PYDICOM_FILES, "CT_small.dcm")


class ExportTest(WfctlTestCase):
    def setUp(self):
        super().setUp()
        self.ok("result", "upload", "1", MR, "--name", "record-1.dcm")
        self.ok("result", "upload", "2", CT, "--name", "record-2.dcm")
        # Record 3 holds a result the reconstruction service wrote straight into the lake, cut short.
        bad = os.path.join(self.store, "records", "3")
        os.makedirs(bad)
        with open(CT, "rb") as f, open(os.path.join(bad, "record-3.dcm"), "wb") as g:
            g.write(f.read()[:3000])
        self.out = os.path.join(self.tmp, "export")

    def test_prints_each_written_path(self):
        r = self.ok("result", "export", "1", "2", "--to", self.out)
        paths = r.text.splitlines()
        self.assertEqual(len(paths), 2)
        for p in paths:
            self.assertTrue(p.startswith(self.out + "/") and p.endswith(".dcm") and os.path.isfile(p), p)
        pairs = self.ok("result", "export", "1", "2", "--to", self.out, "-o", "json").json()
        self.assertEqual(pairs, [{"source": "records/1/record-1.dcm", "target": paths[0]},
                                 {"source": "records/2/record-2.dcm", "target": paths[1]}])
        self.assertEqual(self.ok("result", "export", "2", "--to", self.out, "-o", "name").text, paths[1] + "\n")
        self.assertIn("target: ", self.ok("result", "export", "2", "--to", self.out, "-o", "yaml").text)

    def test_a_bad_record_anywhere_writes_nothing(self):
        for records, code in ((["1", "3"], 4), (["1", "2", "3"], 4), (["3", "1"], 4), (["1", "9"], 3),
                              (["1", "x"], 2)):
            for anonymize in ([], ["--anonymize"]):
                r = self.fails(code, "result", "export", *records, "--to", self.out, *anonymize)
                self.assertFalse(os.path.exists(self.out), (records, r))
        self.assertIn("records/3/record-3.dcm", self.fails(4, "result", "export", "1", "3", "--to", self.out).errtext)

    def test_a_failed_export_keeps_an_earlier_one_as_it_was(self):
        first = self.ok("result", "export", "1", "--to", self.out).text.split()
        with open(first[0], "rb") as f:
            before = f.read()
        self.fails(4, "result", "export", "1", "2", "3", "--to", self.out)
        with open(first[0], "rb") as f:
            self.assertEqual(f.read(), before)
        files = [os.path.join(d, f) for d, _, fs in os.walk(self.out) for f in fs]
        self.assertEqual(files, first)  # no CT, no temporary file, no empty folder
        dirs = [d for d, sub, fs in os.walk(self.out) if not sub and not fs]
        self.assertEqual(dirs, [])
