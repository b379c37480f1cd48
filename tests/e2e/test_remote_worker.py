"""End-to-end: `wfctl --store http://... worker` against a running `wfctl serve` over a local
store. The worker has no data lake of its own: each attempt downloads its input into a private
temporary folder under TMPDIR, runs the handler there and uploads the output with the job's
finish; a server gone for a moment costs a heartbeat, not the job. Plus the worker routes at the
HTTP level: 422 for bad bodies, 404, 409."""
import json
import os
import re
import signal
import subprocess
import threading
import time

import pydicom

from harness import PYDICOM_FILES, WFCTL, sha256_file
from serve_harness import ServeTest, multipart
from test_cartesian import CARTESIAN

MR_SMALL = os.path.join(PYDICOM_FILES, "MR_small.dcm")


class RemoteWorkerCase(ServeTest):
    def setUp(self):
        super().setUp()
        self.url = f"http://127.0.0.1:{self.s.port}/api/v1/workflow"
        self.worker_tmp = os.path.join(self.tmp, "worker-tmp")
        os.makedirs(self.worker_tmp)

    def remote(self, *args, **kw):
        return self.run_wfctl("--store", self.url, *args, **kw)

    def rok(self, *args, **kw):
        r = self.remote(*args, **kw)
        self.assertEqual(r.code, 0, r)
        return r

    def worker(self, *args, timeout=120):
        return self.remote("worker", "--poll", "50ms", *args, env={"TMPDIR": self.worker_tmp}, timeout=timeout)

    def job(self, job_id):
        return self.rok("job", "get", str(job_id), "-o", "json").json()

    def upload_kspace(self, record=7, n=64):
        npy = os.path.join(self.tmp, "k.npy")
        subprocess.run([CARTESIAN, "--phantom", str(n), npy], check=True, timeout=60)
        return self.rok("result", "upload", str(record), npy, "--name", "kspace.npy", "-o", "json").json()["job"]

    @staticmethod
    def read(path):
        with open(path, "rb") as f:
            return f.read()

    def assert_no_scratch_left(self):
        self.assertEqual(os.listdir(self.worker_tmp), [])


class RemoteWorkerTest(RemoteWorkerCase):
    def test_once_reconstructs_through_the_server_and_leaves_no_temporary_folder(self):
        job = self.upload_kspace()
        self.assertEqual((job["status"], job["output"]), ("queued", "records/7/record-7.dcm"))
        r = self.worker("--once")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.out, b"")
        self.assertIn(f"job {job['id']} succeeded", r.errtext)
        done = self.job(job["id"])
        self.assertEqual((done["status"], done["attempts"]), ("succeeded", 1))
        self.assertRegex(done["message"], r"^records/7/record-7\.dcm stored \(\d+ bytes\)$")
        out = os.path.join(self.tmp, "out.dcm")
        self.rok("result", "download", "7", "-O", out)
        ds = pydicom.dcmread(out)
        self.assertEqual((ds.Rows, ds.Columns), (64, 64))
        self.assertEqual(sha256_file(out), sha256_file(os.path.join(self.store, "records", "7", "record-7.dcm")))
        # The upload of the output submitted no job of its own.
        self.assertEqual(len(self.rok("job", "list", "-o", "json").json()), 1)
        # The log came through the server; the handler ran in the attempt's own data lake.
        log = self.rok("job", "logs", str(job["id"])).text
        self.assertIn("--- wfctl: attempt 1 of 3", log)
        self.assertIn(os.path.join(self.worker_tmp, f"wfctl-job-{job['id']}-"), log)
        self.assertIn("/records/7/kspace.npy", log)
        self.assert_no_scratch_left()
        # Nothing left to do: --once returns at once.
        self.assertEqual(self.worker("--once").code, 0)

    def test_the_data_lake_placeholder_names_the_attempts_own_folder(self):
        self.upload_kspace()
        seen = os.path.join(self.tmp, "seen")
        handler = (f"mri_cartesian_reco=sh -c 'ls \"$0\"/records/7 > {seen}; echo \"$0\" >> {seen}; "
                   f"cp {MR_SMALL} \"$1\"' {{data_lake}} {{output}}")
        r = self.worker("--once", "--handler", handler)
        self.assertEqual(r.code, 0, r)
        lines = self.read(seen).decode().splitlines()
        self.assertEqual(lines[0], "kspace.npy")
        self.assertTrue(lines[1].startswith(os.path.join(self.worker_tmp, "wfctl-job-1-")), lines)
        self.assertEqual(self.job(1)["status"], "succeeded")
        self.assert_no_scratch_left()

    def test_a_failing_handler_fails_the_job_and_once_exits_9(self):
        self.upload_kspace()
        r = self.worker("--once", "--retry-backoff", "10ms", "--handler", "mri_cartesian_reco=false")
        self.assertEqual(r.code, 9, r)
        self.assertIn("1 job failed", r.errtext)
        j = self.job(1)
        self.assertEqual((j["status"], j["attempts"], j["message"]), ("failed", 3, "exit 1"))
        self.assert_no_scratch_left()

    def test_a_job_cancelled_while_running_is_stopped_and_the_worker_goes_on(self):
        self.upload_kspace(7)
        e = dict(self.env, TMPDIR=self.worker_tmp)
        err_path = os.path.join(self.tmp, "worker.err")
        with open(err_path, "w+b") as err:
            w = subprocess.Popen([WFCTL, "--store", self.url, "worker", "--poll", "50ms", "--lease", "900ms",
                                  "--kill-grace", "300ms", "--handler", "mri_cartesian_reco=sleep 30"],
                                 env=e, cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                 start_new_session=True)
            try:
                self.wait_for(lambda: self.job(1)["status"] == "running", what="a running job")
                self.assertEqual(self.rok("job", "cancel", "1").text, "job/1 cancelled\n")
                self.wait_for(lambda: b"job 1 cancelled" in self.read(err_path), timeout=20,
                              what="the worker to stop the handler")
                self.wait_for(lambda: os.listdir(self.worker_tmp) == [], timeout=10, what="the scratch to go")
                # The worker goes on: the next job runs (and is cancelled too).
                self.rok("job", "submit", "7", "--input", "kspace.npy")
                self.wait_for(lambda: self.job(2)["status"] == "running", what="the next job to run")
                self.assertEqual(len(os.listdir(self.worker_tmp)), 1)
            finally:
                w.send_signal(signal.SIGTERM)
                time.sleep(0.8)  # within half a second it would count as the same request
                w.send_signal(signal.SIGTERM)  # the second signal: stop the handler, give the job back
                w.wait(timeout=60)
            err.seek(0)
            text = err.read().decode()
        self.assertEqual(w.returncode, 0, text)
        self.assertEqual(self.job(1)["status"], "cancelled")
        j = self.job(2)
        self.assertEqual((j["status"], j["attempts"]), ("queued", 0), text)
        self.assertIn("1 returned to the queue", text)
        self.assert_no_scratch_left()
        self.assertFalse(os.path.exists(os.path.join(self.store, "records", "7", "record-7.dcm")))


    def test_a_server_gone_for_a_moment_costs_a_heartbeat_not_the_job(self):
        self.upload_kspace(7)
        port = self.s.port
        e = dict(self.env, TMPDIR=self.worker_tmp)
        err_path = os.path.join(self.tmp, "worker.err")
        started = os.path.join(self.tmp, "started")
        handler = f"mri_cartesian_reco=sh -c 'touch {started}; sleep 4; cp {MR_SMALL} \"$0\"' {{output}}"
        with open(err_path, "w+b") as err:
            w = subprocess.Popen([WFCTL, "--store", self.url, "worker", "--poll", "50ms", "--lease", "3s", "--handler",
                                  handler], env=e, cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=err, start_new_session=True)
            try:
                self.wait_for(lambda: os.path.exists(started), what="the handler to start")
                self.assertEqual(self.s.stop(), 0)
                self.wait_for(lambda: b"the lease was not renewed, trying again" in self.read(err_path), timeout=10,
                              what="a failed heartbeat")
                self.s = self.start_on(port)
                self.wait_for(lambda: b"job 1 succeeded" in self.read(err_path), timeout=30, what="the job to succeed")
            finally:
                w.send_signal(signal.SIGTERM)
                w.wait(timeout=60)
        self.assertEqual(w.returncode, 0, self.read(err_path))
        j = self.job(1)
        self.assertEqual((j["status"], j["attempts"]), ("succeeded", 1))
        self.assert_no_scratch_left()

    def start_on(self, port):
        """A new server on the port of the one stopped (the same store)."""
        end = time.monotonic() + 10
        while True:
            p = subprocess.Popen([WFCTL, "serve", "--listen", f"127.0.0.1:{port}"], env=self.env, cwd=self.tmp,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            line = p.stderr.readline().decode()
            if line.startswith("wfctl serve: listening on"):
                break
            p.wait(timeout=10)
            p.stderr.close()
            if time.monotonic() > end:
                self.fail(f"cannot listen on {port} again: {line!r}")
            time.sleep(0.2)
        threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()

        def stop():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=30)
        self.addCleanup(stop)
        p.port = port
        return p


class WorkerRoutesTest(RemoteWorkerCase):
    """The worker's routes at the HTTP level."""

    def upload(self, query, name, content):
        body, ctype = multipart(name, content)
        return self.s.request("POST", "/upload/7/" + query, body, {"Content-Type": ctype})

    def submit(self):
        status, _, data = self.upload("?job=false", "kspace.npy", b"k")
        self.assertEqual(status, 200, data)
        status, _, data = self.s.request("POST", "/jobs/", {"record_id": 7, "input": "records/7/kspace.npy"})
        self.assertEqual(status, 201, data)
        return json.loads(data)

    def post(self, path, body):
        status, _, data = self.s.request("POST", path, body)
        return status, json.loads(data) if data else None

    def locs(self, answer):
        return [d["loc"] for d in answer["detail"]]

    def test_claim_heartbeat_finish(self):
        job = self.submit()
        self.assertEqual(self.post("/jobs/claim/", {"worker": "w/1", "topics": ["other"]}), (200, []))
        status, claimed = self.post("/jobs/claim/", {"worker": "w/1", "lease_ms": 5000})
        self.assertEqual(status, 200)
        self.assertEqual([(j["id"], j["status"], j["worker"], j["attempts"]) for j in claimed],
                         [(job["id"], "running", "w/1", 1)])
        status, _, data = self.s.request("GET", "/jobs/depth")
        self.assertEqual((status, json.loads(data)), (200, {"queued": 0, "waiting": 0, "running": 1, "next_retry_ms": None}))
        self.assertEqual(self.post("/jobs/1/heartbeat", {"worker": "w/1", "lease_ms": 5000}), (200, {"lease": "renewed"}))
        self.assertEqual(self.post("/jobs/1/heartbeat", {"worker": "w/2", "lease_ms": 5000}), (200, {"lease": "lost"}))
        status, _, _ = self.s.request("POST", "/jobs/1/log", b"hello\n", {"Content-Type": "application/octet-stream"})
        self.assertEqual(status, 204)
        self.assertEqual(self.s.request("GET", "/jobs/1/logs")[2], b"hello\n")
        self.assertEqual(self.post("/jobs/1/finish", {"worker": "w/2", "succeeded": True})[0], 409)
        status, done = self.post("/jobs/1/finish", {"worker": "w/1", "succeeded": False, "message": "boom",
                                                    "retry_after_ms": 60000})
        self.assertEqual((status, done["status"], done["message"]), (200, "queued", "boom"))
        self.assertIsNotNone(done["retry_at"])
        status, _, data = self.s.request("GET", "/jobs/depth?topic=mri_cartesian_reco")
        d = json.loads(data)
        self.assertEqual((d["queued"], d["waiting"], d["running"]), (0, 1, 0))
        self.assertGreater(d["next_retry_ms"], 0)
        self.assertEqual(json.loads(self.s.request("GET", "/jobs/depth?topic=other")[2])["waiting"], 0)

    def test_release_and_an_upload_that_finishes_the_job(self):
        self.submit()
        self.post("/jobs/claim/", {"worker": "w/1"})
        self.assertEqual(self.post("/jobs/1/release", {"worker": "w/1", "message": "bye"}), (204, None))
        self.assertEqual(json.loads(self.s.request("GET", "/jobs/1")[2])["status"], "queued")
        self.post("/jobs/claim/", {"worker": "w/1"})
        dcm = self.read(MR_SMALL)
        body, ctype = multipart("record-7.dcm", dcm)
        # Not this worker's: 409, and nothing is stored.
        status, _, data = self.s.request("POST", "/upload/7/?force=true&finish_job=1&worker=w/2", body, {"Content-Type": ctype})
        self.assertEqual(status, 409, data)
        self.assertFalse(os.path.exists(os.path.join(self.store, "records", "7", "record-7.dcm")))
        status, _, data = self.s.request("POST", "/upload/8/?finish_job=1&worker=w/1", body, {"Content-Type": ctype})
        self.assertEqual(status, 422, data)
        status, _, data = self.s.request("POST", "/upload/7/?finish_job=9&worker=w/1", body, {"Content-Type": ctype})
        self.assertEqual((status, json.loads(data)), (404, {"detail": "Job not found"}))
        status, _, data = self.s.request("POST", "/upload/7/?force=true&finish_job=1&worker=w/1&message=done", body,
                                         {"Content-Type": ctype})
        self.assertEqual(status, 200, data)
        j = json.loads(data)["job"]
        self.assertEqual((j["id"], j["status"], j["message"]), (1, "succeeded", "done"))
        self.assertEqual(len(json.loads(self.s.request("GET", "/jobs/")[2])), 1)  # no new job

    def test_bad_bodies_are_422_with_items_and_missing_jobs_404(self):
        cases = [
            ("/jobs/claim/", {}, [["body", "worker"]]),
            ("/jobs/claim/", {"worker": "", "lease_ms": 10, "max": 0, "topics": "x"},
             [["body", "worker"], ["body", "topics"], ["body", "lease_ms"], ["body", "max"]]),
            ("/jobs/claim/", {"worker": "w", "topics": [1, "ok"], "lease_ms": "5000"},
             [["body", "topics", 0], ["body", "lease_ms"]]),
            ("/jobs/1/heartbeat", {"worker": "w"}, [["body", "lease_ms"]]),
            ("/jobs/1/heartbeat", {"worker": 3, "lease_ms": 99999999999}, [["body", "worker"], ["body", "lease_ms"]]),
            ("/jobs/1/finish", {"worker": "w", "succeeded": "yes"}, [["body", "succeeded"]]),
            ("/jobs/1/finish", {"worker": "w", "succeeded": True, "retry_after_ms": -1}, [["body", "retry_after_ms"]]),
            ("/jobs/1/release", {"message": 1}, [["body", "worker"], ["body", "message"]]),
            ("/jobs/x/release", {"worker": "w"}, [["path", "job_id"]]),
        ]
        for path, body, locs in cases:
            status, answer = self.post(path, body)
            self.assertEqual((status, self.locs(answer)), (422, locs), (path, body, answer))
        status, _, data = self.s.request("POST", "/jobs/claim/", b"[1]", {"Content-Type": "application/json"})
        self.assertEqual(status, 422, data)
        status, _, data = self.s.request("POST", "/jobs/1/log", b"x", {"Content-Type": "text/plain"})
        self.assertEqual(status, 422, data)
        status, _, data = self.s.request("GET", "/jobs/depth?topic=")
        self.assertEqual(status, 422, data)
        for path, body in [("/jobs/9/heartbeat", {"worker": "w", "lease_ms": 1000}),
                           ("/jobs/9/finish", {"worker": "w", "succeeded": True}),
                           ("/jobs/9/release", {"worker": "w"})]:
            self.assertEqual(self.post(path, body), (404, {"detail": "Job not found"}), path)
        status, _, data = self.s.request("POST", "/jobs/9/log", b"x", {"Content-Type": "application/octet-stream"})
        self.assertEqual((status, json.loads(data)), (404, {"detail": "Job not found"}))
        self.assertEqual(self.s.request("GET", "/jobs/claim/")[0], 405)
        self.assertEqual(self.s.request("POST", "/jobs/depth", {})[0], 405)
        self.assertEqual(self.s.request("GET", "/jobs/1/finish")[0], 405)
        for query in ["?worker=w", "?finish_job=1", "?finish_job=1&worker=", "?finish_job=x&worker=w",
                      "?finish_job=1&worker=w&job=true"]:
            status, _, data = self.upload(query, "a.txt", b"a")
            self.assertEqual(status, 422, (query, data))
        # Nothing of that was a server error.
        self.assertEqual(self.s.stop(), 0)
        access = [l for l in self.s.log if '"/api/v1/workflow' in l]
        self.assertTrue(access)
        self.assertFalse([l for l in access if re.search(r'" 5\d\d ', l)], access)

    def test_every_new_route_is_in_the_openapi_document(self):
        doc = json.loads(self.s.request("GET", "/openapi.json")[2])
        paths = doc["paths"]
        P = "/api/v1/workflow"
        for path, method in [("/jobs/claim/", "post"), ("/jobs/depth", "get"), ("/jobs/{job_id}/heartbeat", "post"),
                             ("/jobs/{job_id}/finish", "post"), ("/jobs/{job_id}/release", "post"),
                             ("/jobs/{job_id}/log", "post")]:
            self.assertIn(method, paths[P + path], path)
        names = [p["name"] for p in paths[P + "/upload/{record_id}/"]["post"]["parameters"]]
        self.assertIn("finish_job", names)


if __name__ == "__main__":
    import unittest
    unittest.main()
