"""End-to-end: `wfctl result upload` killed with SIGKILL at random moments never leaves a
partial file in records/, never corrupts the database, and never loses an upload that
reported success.

WFCTL_RELIABILITY_UPLOADS (default 50) uploads of WFCTL_RELIABILITY_MIB (default 64) MiB, in
a random order of: new names, and --force over a few shared names (alternating between two
distinct sources, so that a torn overwrite would show). Most are killed after a random
delay; the rest finish. The seed (WFCTL_RELIABILITY_SEED, default fixed) is printed so that
a failure can be replayed."""
import json
import os
import random
import signal
import subprocess
import sys
import time
import unittest

from harness import WFCTL, WfctlTestCase, sha256_file

MIB = int(os.environ.get("WFCTL_RELIABILITY_MIB", "64"))
UPLOADS = int(os.environ.get("WFCTL_RELIABILITY_UPLOADS", "50"))
SEED = int(os.environ.get("WFCTL_RELIABILITY_SEED", "20240611"))
KILL_SHARE = 0.7  # the share of uploads that get a SIGKILL
SHARED_NAMES = ["shared-0.bin", "shared-1.bin", "shared-2.bin"]
# wfctl sweeps a dead process's temporary file only once it is this old (data_lake.cpp:
# k_stale_after_s), since a pid alone does not prove that no other host is writing it.
STALE_AFTER_S = 10 * 60


def dead_pid():
    """A pid that belonged to a process that has exited and been reaped."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


class KilledUploadTest(WfctlTestCase):
    def setUp(self):
        super().setUp()
        rng = random.Random(SEED)
        self.sources = {}
        for label in ("a", "b"):
            path = os.path.join(self.tmp, f"source-{label}.bin")
            with open(path, "wb") as f:
                for _ in range(MIB):
                    f.write(rng.randbytes(1 << 20))
            self.sources[label] = (path, sha256_file(path))
        self.records = os.path.join(self.store, "records")
        self.tmpdir = os.path.join(self.store, "tmp")

    def upload(self, source, record, name, force, kill_after_s=None):
        """Runs one upload; returns its exit status (-9 when our SIGKILL ended it)."""
        args = [WFCTL, "--store", self.store, "result", "upload", str(record), source, "--name", name]
        if force:
            args.append("--force")
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=self.env, cwd=self.tmp)
        if kill_after_s is not None:
            try:
                p.wait(timeout=kill_after_s)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
        _, err = p.communicate(timeout=120)
        if p.returncode not in (0, -signal.SIGKILL):
            self.fail(f"upload {record}/{name} exited {p.returncode}: {err.decode(errors='replace')}")
        return p.returncode

    def files_under_records(self):
        out = {}
        for dirpath, dirs, files in os.walk(self.records):
            for f in files:
                p = os.path.join(dirpath, f)
                out[os.path.relpath(p, self.records)] = p
        return out

    def test_sigkill_during_uploads_leaves_no_partial_file_and_keeps_every_success(self):
        print(f"\n[reliability] seed {SEED}, {UPLOADS} uploads of {MIB} MiB "
              f"(replay: WFCTL_RELIABILITY_SEED={SEED})", file=sys.stderr)
        rng = random.Random(SEED)
        shas = {label: sha for label, (_, sha) in self.sources.items()}

        # One undisturbed upload gives the scale of the kill delays, and a first version of
        # every shared name for the --force uploads to overwrite.
        t0 = time.monotonic()
        self.assertEqual(self.upload(self.sources["a"][0], 1, "first.bin", False), 0)
        full_s = time.monotonic() - t0
        for name in SHARED_NAMES:
            self.assertEqual(self.upload(self.sources["a"][0], 1, name, False), 0)
        # The last source each shared name got from a finished upload, and the sources of the
        # killed uploads after it (any of which may have got as far as the rename).
        shared_ok = {name: "a" for name in SHARED_NAMES}
        shared_maybe = {name: set() for name in SHARED_NAMES}
        new_ok, new_maybe = {}, {}
        succeeded = killed = 0

        for i in range(UPLOADS):
            label = rng.choice("ab")
            kill_after = rng.uniform(0, 1.2 * full_s) if rng.random() < KILL_SHARE else None
            if rng.random() < 0.5:
                name = rng.choice(SHARED_NAMES)
                rc = self.upload(self.sources[label][0], 1, name, True, kill_after)
                if rc == 0:
                    shared_ok[name], shared_maybe[name] = label, set()
                else:
                    shared_maybe[name].add(label)
            else:
                name = f"new-{i}.bin"
                rc = self.upload(self.sources[label][0], 2, name, False, kill_after)
                (new_ok if rc == 0 else new_maybe)[f"2/{name}"] = label
            succeeded += rc == 0
            killed += rc != 0
        print(f"[reliability] a full upload took {full_s * 1000:.0f} ms; "
              f"{succeeded} uploads finished, {killed} were killed", file=sys.stderr)
        # Not a timing assertion: without both outcomes, and without a kill that landed while
        # the bytes were being streamed (its temporary file is left in tmp/), the test would
        # prove nothing.
        self.assertGreater(killed, 0)
        self.assertGreater(succeeded, 0)
        left = os.listdir(self.tmpdir)
        print(f"[reliability] {len(left)} killed uploads left a temporary file in tmp/", file=sys.stderr)
        self.assertTrue(left, "no upload was killed while streaming")
        # Uploads in progress, and the second links that a --force upload keeps of the file it
        # replaces until its commit (both swept once their process is long dead).
        self.assertTrue(all(n.startswith(("upload-", "replaced-")) for n in left), left)
        for n in left:
            if n.startswith("replaced-"):
                self.assertIn(sha256_file(os.path.join(self.tmpdir, n)), shas.values(), n)

        # 1. Nothing partial or temporary is visible under records/: every file there is
        #    wholly one of the two sources.
        files = self.files_under_records()
        for rel, path in files.items():
            self.assertIn(sha256_file(path), shas.values(), f"records/{rel} is not a whole source")
            self.assertTrue(rel.startswith("1/") or rel.startswith("2/"), rel)

        # 2. The database is intact.
        check = subprocess.run(["sqlite3", os.path.join(self.store, "wfctl.db"), "PRAGMA integrity_check"],
                               capture_output=True, check=True)
        self.assertEqual(check.stdout.decode().strip(), "ok")

        # 3. Every upload that reported success is there, with its own bytes; a shared name
        #    holds its last successful version or the source of a killed upload after it.
        self.assertIn("1/first.bin", files)
        self.assertEqual(sha256_file(files["1/first.bin"]), shas["a"])
        for rel, label in new_ok.items():
            self.assertIn(rel, files, f"records/{rel} reported success but is missing")
            self.assertEqual(sha256_file(files[rel]), shas[label], rel)
        for name in SHARED_NAMES:
            allowed = {shas[shared_ok[name]]} | {shas[l] for l in shared_maybe[name]}
            self.assertIn(sha256_file(files[f"1/{name}"]), allowed, name)
        for rel, label in new_maybe.items():
            if rel in files:  # killed after the rename: then it must be whole
                self.assertEqual(sha256_file(files[rel]), shas[label], rel)

        # 4. `result list` reports each file with its true sha256 (rows left stale by a kill
        #    between rename and commit must have been noticed and refreshed).
        listed = self.ok("--store", self.store, "result", "list", "-o", "json").json()
        by_rel = {f"{f['record_id']}/{f['name']}": f for f in listed}
        self.assertEqual(sorted(by_rel), sorted(files))
        for rel, path in files.items():
            self.assertEqual(by_rel[rel]["sha256"], sha256_file(path), rel)
            self.assertEqual(by_rel[rel]["size"], MIB << 20, rel)

        # 5. Each downloads, verified, byte for byte.
        out = os.path.join(self.tmp, "download.bin")
        for rel, path in files.items():
            record, name = rel.split("/", 1)
            self.ok("--store", self.store, "result", "download", record, "--file", name, "-O", out, "--force")
            self.assertEqual(sha256_file(out), sha256_file(path), rel)
        os.remove(out)

    def test_next_upload_sweeps_temp_files_of_dead_processes(self):
        # Leave real temporary files behind: kill uploads while they are still streaming.
        self.assertEqual(self.upload(self.sources["a"][0], 1, "seed.bin", False), 0)
        for attempt in range(20):
            self.upload(self.sources["b"][0], 1, f"killed-{attempt}.bin", False, kill_after_s=0.03 + 0.01 * attempt)
            if len(os.listdir(self.tmpdir)) >= 2:
                break
        left = sorted(os.listdir(self.tmpdir))
        self.assertTrue(left, "no upload was killed while staging")
        # Uploads in progress, and the second links that a --force upload keeps of the file it
        # replaces until its commit (both swept once their process is long dead).
        self.assertTrue(all(n.startswith(("upload-", "replaced-")) for n in left), left)
        for n in left:
            if n.startswith("replaced-"):
                self.assertIn(sha256_file(os.path.join(self.tmpdir, n)), shas.values(), n)
        # The temporary files are not visible under records/: what is there is whole.
        for rel, path in self.files_under_records().items():
            want = self.sources["a" if rel == "1/seed.bin" else "b"][1]
            self.assertEqual(sha256_file(path), want, rel)

        # Age them past the sweep threshold, and add controls that must survive: an old file
        # of a live process (ours), and a fresh file of a dead process.
        old = time.time() - STALE_AFTER_S - 60
        for n in left:
            os.utime(os.path.join(self.tmpdir, n), (old, old))
        live = os.path.join(self.tmpdir, f"upload-{os.getpid()}-00000000")
        fresh = os.path.join(self.tmpdir, f"upload-{dead_pid()}-11111111")
        for p in (live, fresh):
            with open(p, "wb") as f:
                f.write(b"partial")
        os.utime(live, (old, old))

        self.ok("--store", self.store, "result", "upload", "1", self.sources["a"][0], "--name", "after.bin", "-o", "json")
        self.assertEqual(sorted(os.listdir(self.tmpdir)), sorted([os.path.basename(live), os.path.basename(fresh)]))
        self.assertEqual(sha256_file(os.path.join(self.records, "1", "after.bin")), self.sources["a"][1])


if __name__ == "__main__":
    unittest.main()
