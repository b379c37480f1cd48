"""End-to-end: jobs on the local store. Upload → job → worker → download with the example
reconstruction, checked against a Shepp-Logan phantom drawn here; failures, retries, cancel,
deadlines, leases, SIGTERM; two worker processes on 1 000 jobs; logs; exit statuses."""
import json
import os
import signal
import subprocess
import time

import numpy as np
import pydicom

from harness import PYDICOM_FILES, WFCTL, WfctlTestCase
from test_cartesian import CARTESIAN, shepp_logan

MR_SMALL = os.path.join(PYDICOM_FILES, "MR_small.dcm")
COPY_MR = f"mri_cartesian_reco=cp {MR_SMALL} {{output}}"


class JobTestCase(WfctlTestCase):
    def setUp(self):
        super().setUp()
        self.kspace = self.write("k.npy", b"not really k-space")

    def upload(self, record=7, *extra):
        return self.ok("result", "upload", str(record), self.kspace, "--name", "kspace.npy", *extra)

    def waits(self, code, *args, **kw):
        """`job wait` and `submit --wait`: the final jobs on stdout, one line per change on
        stderr, and the exit status."""
        r = self.run_wfctl(*args, **kw)
        self.assertEqual(r.code, code, r)
        return r

    def job(self, job_id):
        return self.ok("job", "get", str(job_id), "-o", "json").json()

    def worker(self, *args, timeout=120):
        return self.run_wfctl("worker", "--poll", "50ms", *args, timeout=timeout)

    def start_worker(self, *args):
        """A worker in the background. Its output goes to files, not pipes: a pipe nobody reads
        yet would stop a busy worker at its 64 KiB-th byte of log. communicate() gives both."""
        e = dict(self.env)
        n = len([f for f in os.listdir(self.tmp) if f.startswith("worker-")])
        out = open(os.path.join(self.tmp, f"worker-{n}.out"), "w+b")
        err = open(os.path.join(self.tmp, f"worker-{n}.err"), "w+b")
        p = subprocess.Popen([WFCTL, "worker", "--poll", "50ms", *args], env=e, cwd=self.tmp,
                             stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)

        def communicate(timeout=None):
            p.wait(timeout=timeout)
            out.seek(0)
            err.seek(0)
            texts = out.read(), err.read()
            out.close()
            err.close()
            return texts

        p.communicate = communicate
        return p


class FlowTest(JobTestCase):
    def test_upload_worker_download_reconstructs_the_phantom(self):
        n = 128
        npy = os.path.join(self.tmp, "phantom.npy")
        subprocess.run([CARTESIAN, "--phantom", str(n), npy], check=True, timeout=60)
        up = self.ok("result", "upload", "7", npy, "--name", "kspace.npy", "-o", "json").json()
        job = up["job"]
        self.assertEqual((job["input"], job["output"], job["status"]),
                         ("records/7/kspace.npy", "records/7/record-7.dcm", "queued"))
        # No handler configured: mri_cartesian_reco runs the wfctl-cartesian beside wfctl (not
        # on PATH here).
        r = self.worker("--once")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.out, b"")  # the worker's lines are messages, on stderr
        self.assertIn(f"job {job['id']} succeeded", r.errtext)
        done = self.job(job["id"])
        self.assertEqual((done["status"], done["attempts"]), ("succeeded", 1))
        out = os.path.join(self.tmp, "record-7.dcm")
        self.ok("result", "download", "7", "-O", out)
        ds = pydicom.dcmread(out)
        self.assertEqual((ds.Rows, ds.Columns, ds.BitsAllocated, ds.PhotometricInterpretation), (n, n, 16, "MONOCHROME2"))
        image = ds.pixel_array.astype(float) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        corr = np.corrcoef(image.ravel(), shepp_logan(n).ravel())[0, 1]
        self.assertGreater(corr, 0.99)
        # The preview shows the phantom's grey levels, not a black-and-white step.
        png = self.ok("result", "image", "7", "--png", "-").out
        self.assertTrue(png.startswith(b"\x89PNG"))
        self.assertIn("succeeded", self.waits(0, "job", "wait", str(job["id"])).text)
        # The log holds wfctl's lines around the handler's run.
        log = self.ok("job", "logs", str(job["id"])).text
        self.assertIn("--- wfctl: attempt 1 of 3", log)
        self.assertIn("exit 0 after", log)

    def test_a_bad_kspace_fails_its_job_and_the_worker_goes_on(self):
        bad = self.upload(7, "-o", "json").json()["job"]
        npy = os.path.join(self.tmp, "phantom.npy")
        subprocess.run([CARTESIAN, "--phantom", "32", npy], check=True, timeout=60)
        good = self.ok("result", "upload", "8", npy, "--name", "kspace.npy", "-o", "json").json()["job"]
        self.ok("job", "submit", "7", "--input", "kspace.npy", "--max-attempts", "1")  # a third, also bad
        r = self.worker("--once", "--retry-backoff", "10ms")
        self.assertEqual(r.code, 9, r)  # --once: a job failed for good
        self.assertEqual(r.errtext.splitlines()[-2:][-1], "hint: wfctl job list --status failed shows them")
        failed = self.job(bad["id"])
        self.assertEqual((failed["status"], failed["attempts"]), ("failed", 3))
        self.assertRegex(failed["message"], r"^exit 4: wfctl-cartesian: error: .*npy")
        self.assertEqual(self.job(good["id"])["status"], "succeeded")
        w = self.waits(9, "job", "wait", str(bad["id"]), str(good["id"]), "-o", "json")
        self.assertEqual(w.errtext.splitlines()[-1], f"wfctl: error: 1 of 2 jobs did not succeed: job {bad['id']} failed")
        self.assertEqual([j["status"] for j in w.json()], ["failed", "succeeded"])

    def test_uploads_that_submit_nothing(self):
        self.assertNotIn("job/", self.upload(7, "--no-job").text)
        self.ok("result", "upload", "7", MR_SMALL, "--name", "record-7.dcm")  # the record's own result
        self.assertEqual(self.ok("job", "list", "-o", "json").json(), [])
        r = self.fails(4, "result", "upload", "8", self.kspace, "--name", "kspace.npy", "--topic", "bad topic")
        self.assertIn("topic", r.errtext)
        self.assertFalse(os.path.exists(os.path.join(self.store, "records", "8")))
        r = self.upload(9, "--topic", "radial_reco", "-o", "json").json()
        self.assertEqual(r["job"]["topic"], "radial_reco")


class CommandsTest(JobTestCase):
    def test_reads_and_an_idle_worker_create_no_store(self):
        r = self.run_wfctl("job", "list", "-o", "json")
        self.assertEqual((r.code, r.text), (0, "[]\n"), r)
        self.assertIn("does not exist", r.errtext)  # the missing-store hint
        r = self.worker("--once")
        self.assertEqual((r.code, r.out), (0, b""), r)
        self.fails(3, "job", "get", "1")
        self.assertFalse(os.path.exists(self.store))

    def test_submit_refuses_what_would_only_fail_later(self):
        self.upload(7, "--no-job")
        r = self.fails(3, "job", "submit", "7", "--input", "other.npy")
        self.assertEqual(r.errtext.splitlines()[0], "wfctl: error: records/7/other.npy not found")
        self.fails(4, "job", "submit", "7", "--input", "records/8/kspace.npy")
        self.fails(4, "job", "submit", "7", "--input", "kspace.npy", "--topic", "a/b")
        self.fails(2, "job", "submit", "7", "--input", "kspace.npy", "--timeout", "1s")
        self.fails(2, "job", "submit", "7", "--input", "kspace.npy", "--deadline", "soon")
        self.fails(2, "job", "submit", "x", "--input", "kspace.npy")
        self.assertEqual(self.ok("job", "list", "-o", "json").json(), [])
        r = self.ok("job", "submit", "7", "--input", "records/7/kspace.npy", "--deadline", "2m", "--max-attempts", "5")
        self.assertEqual(r.text, "job/1 submitted\n")
        j = self.job(1)
        self.assertEqual((j["deadline_seconds"], j["max_attempts"], j["delivery"]), (120, 5, "local"))
        self.assertEqual(self.ok("job", "list", "-o", "name").text, "1\n")
        self.assertEqual(self.ok("job", "list", "--status", "succeeded", "-o", "json").json(), [])
        self.fails(2, "job", "list", "--status", "done")
        self.fails(3, "job", "get", "99")
        self.fails(3, "job", "logs", "99")
        y = self.ok("job", "get", "1", "-o", "yaml").text
        self.assertIn("status: queued", y)
        table = self.ok("job", "list").text.splitlines()
        self.assertEqual(table[0].split()[:3], ["ID", "STATUS", "RECORD"])

    def test_wait_exit_statuses_and_its_timeout(self):
        self.upload(7, "--no-job")
        self.ok("job", "submit", "7", "--input", "kspace.npy")
        t0 = time.monotonic()
        r = self.waits(10, "job", "wait", "1", "--timeout", "700ms", "-o", "name")
        self.assertEqual(r.text, "1\n")
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(r.errtext.splitlines()[0], "job 1: queued")
        self.assertEqual(r.errtext.splitlines()[-1], "wfctl: error: timed out after 700ms waiting for job 1 queued")
        self.assertEqual(json.loads(self.ok("job", "get", "1", "-o", "json").text)["status"], "queued")
        # submit --wait with a worker beside it: exit 0 and the final job on stdout.
        w = self.start_worker("--handler", COPY_MR)
        try:
            r = self.run_wfctl("job", "submit", "7", "--input", "kspace.npy", "--wait", "--timeout", "60s", "-o", "json")
            self.assertEqual(r.code, 0, r)
            self.assertEqual(r.json()[0]["status"], "succeeded")
            self.assertIn("job 2: succeeded", r.errtext)
            self.waits(0, "job", "wait", "1", "2", "--timeout", "60s")
        finally:
            w.send_signal(signal.SIGTERM)
            out, err = w.communicate(timeout=60)
        self.assertEqual(w.returncode, 0, err)

    def test_retry_queues_a_failed_job_again(self):
        self.upload(7, "--no-job")
        self.ok("job", "submit", "7", "--input", "kspace.npy", "--max-attempts", "2")
        r = self.worker("--once", "--retry-backoff", "50ms", "--handler",
                        "mri_cartesian_reco=sh -c 'echo out-line; echo boom >&2; exit 3'")
        self.assertEqual(r.code, 9, r)
        self.assertIn("job 1 failed (attempt 1 of 2), retry in 50ms: exit 3: boom", r.errtext)
        j = self.job(1)
        self.assertEqual((j["status"], j["attempts"], j["message"]), ("failed", 2, "exit 3: boom"))
        log = self.ok("job", "logs", "1").text
        self.assertEqual(log.count("out-line\n"), 2)
        self.assertIn("attempt 2 of 2", log)
        self.assertEqual(self.waits(9, "job", "wait", "1").errtext.splitlines()[-1],
                         "hint: wfctl job logs 1 shows its output")
        self.assertEqual(self.ok("job", "retry", "1").text, "job/1 queued\n")
        j = self.job(1)
        self.assertEqual((j["status"], j["attempts"], j["message"]), ("queued", 0, None))
        self.fails(5, "job", "retry", "1")
        self.assertEqual(self.worker("--once", "--handler", COPY_MR).code, 0)
        self.waits(0, "job", "wait", "1")
        r = self.fails(5, "job", "retry", "1")
        self.assertEqual(r.errtext.splitlines()[1], "hint: submit a new job to run it again")
        self.fails(5, "job", "cancel", "1")

    def test_handler_configuration(self):
        self.upload(7, "--no-job")
        self.ok("job", "submit", "7", "--input", "kspace.npy", "--topic", "radial_reco")
        r = self.fails(2, "worker", "--once", "--topic", "radial_reco")
        self.assertIn("no handler is configured for topic 'radial_reco'", r.errtext)
        self.fails(2, "worker", "--once", "--handler", "radial_reco=reco {inptu}")
        self.fails(2, "worker", "--once", "--handler", "=x")
        # From the context's handlers: run without a shell, values as single arguments.
        config = os.path.join(self.tmp, "config", "wfctl", "config.yaml")
        os.makedirs(os.path.dirname(config))
        with open(config, "w") as f:
            f.write(f"current-context: lab\ncontexts:\n  lab:\n    handlers:\n"
                    f"      radial_reco: cp {MR_SMALL} '{{output}}'\n")
        r = self.worker("--once", "--topic", "radial_reco")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.job(1)["status"], "succeeded")
        view = self.ok("config", "view", "-o", "json").json()
        self.assertEqual(view["handlers"]["radial_reco"]["value"], f"cp {MR_SMALL} '{{output}}'")
        self.assertIn(f"handler radial_reco   cp {MR_SMALL}", self.ok("config", "view").text)
        # set-context keeps the handlers it does not change.
        self.assertEqual(self.run_wfctl("config", "set-context", "lab", "--kafka-group", "g").code, 0)
        self.assertIn("radial_reco:", open(config).read())


class ControlTest(JobTestCase):
    def running(self, job_id):
        return self.job(job_id)["status"] == "running"

    def test_cancel_stops_a_running_handler(self):
        self.upload(7, "--no-job")
        self.ok("job", "submit", "7", "--input", "kspace.npy")
        pid_file = os.path.join(self.tmp, "handler.pid")
        w = self.start_worker("--lease", "900ms", "--kill-grace", "500ms", "--handler",
                              f"mri_cartesian_reco=sh -c 'echo $$ > {pid_file}; trap \"\" TERM; sleep 60 & wait; sleep 60'")
        try:
            self.wait_for(lambda: self.running(1) and os.path.exists(pid_file), what="a running job")
            pid = int(open(pid_file).read())
            self.assertEqual(self.ok("job", "cancel", "1").text, "job/1 cancelled\n")
            # The worker learns at its next heartbeat: SIGTERM (ignored here), then SIGKILL.
            self.wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                          open(f"/proc/{pid}/stat").read().split()[2] == "Z", timeout=20, what="the handler to end")
            j = self.job(1)
            self.assertEqual((j["status"], j["message"]), ("cancelled", "cancelled while running"))
        finally:
            w.send_signal(signal.SIGTERM)
            out, err = w.communicate(timeout=60)
        self.assertIn(b"job 1 cancelled", err)
        self.assertEqual(w.returncode, 0, err)
        self.assertFalse(os.path.exists(os.path.join(self.store, "records", "7", "record-7.dcm")))

    def test_a_deadline_fails_the_attempt(self):
        self.upload(7, "--no-job")
        self.ok("job", "submit", "7", "--input", "kspace.npy", "--deadline", "1s", "--max-attempts", "1")
        r = self.worker("--once", "--kill-grace", "200ms", "--handler", "mri_cartesian_reco=sleep 30", timeout=60)
        self.assertEqual(r.code, 9, r)
        self.assertEqual(self.job(1)["message"], "deadline of 1s exceeded")

    def test_a_dead_workers_job_is_taken_over_once_its_lease_expired(self):
        self.upload(7, "--no-job")
        self.ok("job", "submit", "7", "--input", "kspace.npy")
        pid_file = os.path.join(self.tmp, "handler.pid")
        w = self.start_worker("--lease", "1s", "--handler", f"mri_cartesian_reco=sh -c 'echo $$ > {pid_file}; exec sleep 60'")
        try:
            self.wait_for(lambda: self.running(1) and os.path.exists(pid_file), what="a running job")
        finally:
            os.killpg(w.pid, signal.SIGKILL)  # the worker dies without a word
            w.communicate(timeout=30)
        os.killpg(int(open(pid_file).read()), signal.SIGKILL)  # and so does its handler
        self.assertEqual(self.job(1)["status"], "running")
        t0 = time.monotonic()
        r = self.worker("--once", "--handler", COPY_MR)
        self.assertEqual(r.code, 0, r)
        j = self.job(1)
        self.assertEqual((j["status"], j["attempts"]), ("succeeded", 2))
        self.assertLess(time.monotonic() - t0, 30)
        self.assertIn("attempt 2 of 3", self.ok("job", "logs", "1").text)

    def test_sigterm_lets_a_running_job_finish(self):
        self.upload(7, "--no-job")
        self.ok("job", "submit", "7", "--input", "kspace.npy")
        started = os.path.join(self.tmp, "started")
        w = self.start_worker("--handler", f"mri_cartesian_reco=sh -c 'touch {started}; sleep 1; cp {MR_SMALL} \"$0\"' {{output}}")
        self.wait_for(lambda: os.path.exists(started), what="the handler to start")
        w.send_signal(signal.SIGTERM)
        out, err = w.communicate(timeout=60)
        self.assertEqual(w.returncode, 0, err)
        self.assertEqual(self.job(1)["status"], "succeeded")

    def test_sigterm_past_the_grace_gives_the_job_back(self):
        self.upload(7, "--no-job")
        self.ok("job", "submit", "7", "--input", "kspace.npy")
        w = self.start_worker("--grace", "300ms", "--kill-grace", "200ms", "--handler", "mri_cartesian_reco=sleep 60")
        self.wait_for(lambda: self.running(1), what="a running job")
        t0 = time.monotonic()
        w.send_signal(signal.SIGTERM)
        out, err = w.communicate(timeout=60)
        self.assertEqual(w.returncode, 0, err)
        self.assertLess(time.monotonic() - t0, 20)
        j = self.job(1)
        self.assertEqual((j["status"], j["attempts"]), ("queued", 0))
        self.assertIn(b"1 returned to the queue", err)


class TwoWorkersTest(JobTestCase):
    def test_two_worker_processes_run_each_of_1000_jobs_once(self):
        self.upload(7, "--no-job")
        db = os.path.join(self.store, "wfctl.db")
        # 1 000 jobs in one transaction of the sqlite3 CLI, into wfctl's own table.
        rows = ",".join(f"('mri_cartesian_reco', 7, 'records/7/kspace.npy', 'records/7/out-{i % 4}.txt', 'queued', 1, "
                        f"3600, '2026-01-01T00:00:00.000000', 'local')" for i in range(1000))
        subprocess.run(["sqlite3", db], input="INSERT INTO jobs (topic, record_id, input, output, status, max_attempts, "
                       f"deadline_seconds, datetime_created, delivery) VALUES {rows};", text=True, check=True)
        ran = os.path.join(self.tmp, "ran")
        handler = f"mri_cartesian_reco=sh -c 'echo {{job_id}} >> {ran}; echo x > \"$0\"' {{output}}"
        workers = [self.start_worker("--once", "--concurrency", "2", "--identity", f"w{i}", "--handler", handler)
                   for i in range(2)]
        for w in workers:
            out, err = w.communicate(timeout=600)
            self.assertEqual(w.returncode, 0, err[-2000:])
        ids = [int(x) for x in open(ran).read().split()]
        self.assertEqual(len(ids), 1000)
        self.assertEqual(sorted(ids), list(range(1, 1001)))  # every job, each once
        jobs = self.ok("job", "list", "-o", "json").json()
        self.assertEqual({(j["status"], j["attempts"]) for j in jobs}, {("succeeded", 1)},
                         [j["message"] for j in jobs if j["status"] != "succeeded"][:3])
        self.assertEqual({j["worker"].split("/")[0] for j in jobs}, {"w0", "w1"})  # both took part
