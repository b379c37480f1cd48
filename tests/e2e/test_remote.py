"""The remote backend (--store http://...) against an imitation of the ScanHub reference
server (fault_server.py): the exact canonical paths sent, exit codes, the stdout/stderr split,
retries of idempotent requests only, timeouts, TLS, and the reference's quirks."""
import json
import os
import subprocess
import time

from fault_server import PREFIX, FaultServer
from harness import PYDICOM_FILES, WFCTL, WfctlTestCase

P = PREFIX


class RemoteCase(WfctlTestCase):
    def setUp(self):
        super().setUp()
        self.srv = FaultServer().__enter__()
        self.addCleanup(self.srv.__exit__, None, None, None)

    def w(self, *args, **kw):
        return self.run_wfctl("--store", self.srv.url, *args, **kw)

    def wok(self, *args, **kw):
        r = self.w(*args, **kw)
        self.assertEqual(r.code, 0, r)
        return r

    def wfails(self, code, *args, **kw):
        r = self.w(*args, **kw)
        self.assertEqual(r.code, code, r)
        self.assertEqual(r.out, b"", r)
        self.assertEqual(len(r.errtext.splitlines()[0:1]), 1, r)
        self.assertTrue(r.errtext.startswith("wfctl: error: "), r)
        return r

    def create(self, name, version, author="ada", definition='{"steps": []}'):
        return self.wok("create", "-f", "-", "--name", name, "--version", version, "--author", author, input=definition)

    def requests(self, method=None):
        return [r for r in self.srv.requests if method is None or r.method == method]


class WorkflowsAgainstTheReference(RemoteCase):
    def test_create_get_list_delete_on_the_canonical_paths(self):
        r = self.create("fft", "1")
        self.assertEqual(r.text, "workflow/1 created\n")
        self.assertEqual(r.err, b"")
        post = self.requests("POST")[0]
        self.assertEqual(post.path, P + "/")
        self.assertEqual(json.loads(post.body), {"name": "fft", "description": None, "version": "1", "author": "ada",
                                                 "definition": {"steps": []}})
        got = self.wok("get", "1", "-o", "json").json()
        self.assertEqual(list(got), ["name", "description", "version", "author", "id", "datetime_created",
                                     "datetime_updated", "definition"])
        self.assertEqual(self.srv.seen()[-1], ("GET", P + "/1"))
        self.wfails(3, "get", "9")
        self.wok("list", "--meta", "-o", "json")
        self.assertIn(("GET", P + "/meta/"), self.srv.seen())
        self.assertEqual(self.wok("delete", "1").text, "workflow/1 deleted\n")
        self.assertEqual(self.srv.seen()[-1], ("DELETE", P + "/1"))
        self.wfails(3, "delete", "1")
        self.assertEqual(self.wok("delete", "1", "--ignore-not-found").text, "")

    def test_list_filters_sorts_and_limits_on_the_client_as_the_local_store_does(self):
        rows = [("b", "1", "x"), ("a", "2", "y"), ("a", "1", "x"), ("c", "1", "y")]
        for name, version, author in rows:
            self.create(name, version, author)
            self.ok("create", "-f", "-", "--name", name, "--version", version, "--author", author, input='{"steps": []}')
        cases = [[], ["--name", "a"], ["--author", "x"], ["--sort-by", "name"], ["--sort-by", "name", "--reverse"],
                 ["--sort-by", "author", "--limit", "2"], ["--version", "1", "--sort-by", "name", "--reverse", "--limit", "2"]]
        for args in cases:
            remote = self.wok("list", "-o", "name", *args).text
            local = self.ok("list", "-o", "name", *args).text
            self.assertEqual(remote, local, args)
        # The reference ignores query parameters: none are sent.
        self.assertTrue(all(r.query == "" for r in self.srv.requests), [r.query for r in self.srv.requests])

    def test_update_of_meta_fields_and_refusal_of_a_definition_change(self):
        self.create("fft", "1")
        self.assertEqual(self.wok("update", "1", "--description", "inverse").text, "workflow/1 updated\n")
        put = self.requests("PUT")[-1]
        self.assertEqual(put.path, P + "/1/")
        self.assertEqual(json.loads(put.body), {"name": "fft", "description": "inverse", "version": "1", "author": "ada"})
        doc = os.path.join(self.tmp, "wf.json")
        with open(doc, "w") as f:
            json.dump({"name": "fft", "version": "1", "author": "ada", "definition": {"steps": [1]}}, f)
        puts = len(self.requests("PUT"))
        r = self.wfails(7, "update", "1", "-f", doc)
        self.assertIn("changing a workflow's definition is not supported by store " + self.srv.url + P, r.errtext)
        self.assertEqual(len(self.requests("PUT")), puts)

    def test_apply_creates_then_leaves_unchanged_then_configures(self):
        doc = os.path.join(self.tmp, "wf.yaml")
        with open(doc, "w") as f:
            f.write("name: fft\nversion: '1'\nauthor: ada\ndefinition: {steps: []}\n")
        self.assertEqual(self.wok("apply", "-f", doc).text, "workflow/1 created\n")
        self.assertEqual(self.wok("apply", "-f", doc).text, "workflow/1 unchanged\n")
        self.assertEqual(self.wok("apply", "-f", doc, "--description", "d").text, "workflow/1 configured\n")
        self.assertEqual(self.requests("PUT")[-1].path, P + "/1/")

    def test_several_workflows_at_once_exit_7_and_send_nothing(self):
        doc = os.path.join(self.tmp, "two.yaml")
        with open(doc, "w") as f:
            f.write("name: a\nversion: '1'\nauthor: x\ndefinition: {}\n---\nname: b\nversion: '1'\nauthor: x\ndefinition: {}\n")
        r = self.wfails(7, "create", "-f", doc)
        self.assertIn("creating several workflows at once is not supported", r.errtext)
        self.assertEqual(self.requests("POST"), [])

    def test_a_422_detail_list_is_shown_field_by_field(self):
        self.srv.fault("POST", P + "/", status=422, body={"detail": [
            {"loc": ["body", "name"], "msg": "field required", "type": "value_error.missing"},
            {"loc": ["body", "version"], "msg": "field required", "type": "value_error.missing"}]})
        r = self.w("create", "-f", "-", "--name", "a", "--version", "1", "--author", "x", input="{}")
        self.assertEqual(r.code, 4, r)
        self.assertIn("answered 422: body.name: field required; body.version: field required", r.errtext.splitlines()[0])

    def test_401_is_exit_8_and_the_token_is_sent_but_never_printed(self):
        self.srv.fault("GET", P + "/1", status=401, body={"detail": "Not authenticated"})
        r = self.w("get", "1", env={"WFCTL_TOKEN": "s3cret-token"})
        self.assertEqual(r.code, 8, r)
        self.assertIn("answered 401: Not authenticated", r.errtext)
        self.assertNotIn(b"s3cret", r.out + r.err)
        self.assertEqual(self.srv.requests[-1].headers.get("authorization"), "Bearer s3cret-token")
        view = self.run_wfctl("config", "view", "-o", "json", env={"WFCTL_TOKEN": "s3cret-token"})
        self.assertEqual(view.code, 0, view)
        self.assertNotIn(b"s3cret", view.out + view.err)
        self.assertEqual(view.json()["token"]["value"], "<redacted>")

    def test_a_token_file_is_sent(self):
        token = os.path.join(self.tmp, "token")
        with open(token, "w") as f:
            f.write("from-file\n")
        self.wfails(3, "get", "4", "--token-file", token)
        self.assertEqual(self.srv.requests[-1].headers.get("authorization"), "Bearer from-file")

    def test_credentials_in_the_url_are_refused(self):
        r = self.run_wfctl("--store", f"http://me:pw@127.0.0.1:{self.srv.port}", "list")
        self.assertEqual(r.code, 2, r)
        self.assertNotIn(b"pw", r.err)
        self.assertEqual(self.srv.requests, [])

    def test_a_redirect_of_a_post_is_reported_never_followed(self):
        self.srv.fault("POST", P + "/", status=307, body=b"", headers={"Location": "http://127.0.0.1:1/elsewhere/"})
        r = self.w("create", "-f", "-", "--name", "a", "--version", "1", "--author", "x", input="{}")
        self.assertEqual(r.code, 6, r)
        self.assertIn("answered 307 redirecting to http://127.0.0.1:1/elsewhere/", r.errtext)
        self.assertEqual([q.path for q in self.requests("POST")], [P + "/"])

    def test_a_prefix_in_the_url_replaces_the_default(self):
        r = self.run_wfctl("--store", f"{self.srv.url}/other/", "get", "1")
        self.assertEqual(r.code, 3, r)  # the imitation answers 404 Not Found for any other prefix
        self.assertEqual(self.srv.seen()[-1], ("GET", "/other/1"))


class Retries(RemoteCase):
    def test_a_get_is_retried_through_503_honouring_retry_after(self):
        self.create("fft", "1")
        self.srv.fault("GET", P + "/1", status=503, times=2, headers={"Retry-After": "1"})
        started = time.monotonic()
        r = self.wok("get", "1", "-o", "name")
        self.assertEqual(r.text, "1\n")
        self.assertGreaterEqual(time.monotonic() - started, 1.9)
        self.assertEqual(self.srv.seen().count(("GET", P + "/1")), 3)

    def test_a_get_is_retried_with_backoff_a_bounded_number_of_times(self):
        self.srv.fault("GET", P + "/1", status=502, times=10)
        r = self.wfails(6, "get", "1")
        self.assertIn("answered 502", r.errtext)
        self.assertEqual(self.srv.seen().count(("GET", P + "/1")), 4)

    def test_a_post_is_never_retried(self):
        self.srv.fault("POST", P + "/", status=503, times=5)
        self.wfails(6, "create", "-f", "-", "--name", "a", "--version", "1", "--author", "x", input="{}")
        self.assertEqual(len(self.requests("POST")), 1)

    def test_a_slow_answer_past_the_timeout_is_exit_6(self):
        self.srv.fault("GET", P + "/1", delay=5, times=5)
        started = time.monotonic()
        r = self.wfails(6, "get", "1", "--http-timeout", "1s")
        self.assertLess(time.monotonic() - started, 4.5)
        self.assertIn("timed out", r.errtext.lower())

    def test_nothing_listening_is_exit_6(self):
        r = self.run_wfctl("--store", "http://127.0.0.1:1", "get", "1")
        self.assertEqual(r.code, 6, r)


class ResultsAgainstTheReference(RemoteCase):
    def test_upload_download_image_and_info(self):
        mr = os.path.join(PYDICOM_FILES, "MR_small.dcm")
        with open(mr, "rb") as f:
            data = f.read()
        r = self.wok("result", "upload", "7", mr, "--name", "record-7.dcm")
        self.assertRegex(r.text, r"^records/7/record-7\.dcm uploaded: %d bytes, sha256 [0-9a-f]{64}\n$" % len(data))
        up = self.requests("POST")[-1]
        self.assertEqual(up.path, P + "/upload/7/")
        self.assertIn(b'name="file"; filename="record-7.dcm"', up.body)
        self.assertIn(data, up.body)
        self.assertEqual(up.query, "")
        out = os.path.join(self.tmp, "out.dcm")
        self.wok("result", "download", "7", "-O", out)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertEqual(self.srv.seen()[-1], ("GET", P + "/download/7/"))
        self.assertEqual(self.wok("result", "image", "7").out, data)
        self.assertEqual(self.srv.seen()[-1], ("GET", P + "/image/7/"))
        info = self.wok("result", "info", "7", "-o", "json").json()
        self.assertIn("SOPInstanceUID", info)

    def test_a_missing_result_is_exit_3_for_download_and_image(self):
        r = self.wfails(3, "result", "download", "7", "-O", os.path.join(self.tmp, "x"))
        self.assertIn("answered 500", r.errtext)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x")))
        r = self.wfails(3, "result", "image", "7")
        self.assertIn("dropped the connection", r.errtext)

    def test_no_job_and_other_topics_are_refused_before_sending(self):
        src = os.path.join(self.tmp, "k.npy")
        with open(src, "wb") as f:
            f.write(b"k" * 1000)
        r = self.wfails(7, "result", "upload", "7", src, "--no-job")
        self.assertIn("--no-job", r.errtext)
        self.wfails(7, "result", "upload", "7", src, "--topic", "other")
        self.assertEqual(self.requests("POST"), [])

    def test_a_200_with_an_error_message_is_a_failure(self):
        self.srv.fault("POST", P + "/upload/7/", upload_error=True)
        src = os.path.join(self.tmp, "k.npy")
        with open(src, "wb") as f:
            f.write(b"k" * 1000)
        r = self.wfails(6, "result", "upload", "7", src)
        self.assertIn("There was an error uploading the file", r.errtext)

    def test_a_large_upload_from_stdin_is_streamed(self):
        blob = os.urandom(3 << 20)
        r = self.wok("result", "upload", "8", "-", "--name", "kspace.npy", input=blob)
        self.assertIn(b"%d bytes" % len(blob), r.out)
        self.assertEqual(self.srv.results[(8, "kspace.npy")], blob)

    def test_a_connection_dropped_mid_download_leaves_nothing(self):
        self.srv.results[(7, "record-7.dcm")] = b"d" * 100000
        self.srv.fault("GET", P + "/download/7/", drop_after=10, times=5)
        out = os.path.join(self.tmp, "out.dcm")
        self.wfails(6, "result", "download", "7", "-O", out)
        self.assertEqual(os.listdir(self.tmp).count("out.dcm"), 0)
        self.assertFalse([n for n in os.listdir(self.tmp) if n.startswith(".out.dcm")])

    def test_listing_and_deleting_results_exit_7(self):
        r = self.wfails(7, "result", "list")
        self.assertIn("listing result files is not supported by store " + self.srv.url + P, r.errtext)
        self.wfails(7, "result", "delete", "7")
        self.wfails(7, "job", "list")

    def test_download_wait_polls_through_500s_until_the_file_appears(self):
        out = os.path.join(self.tmp, "out.dcm")
        env = dict(self.env)
        p = subprocess.Popen([WFCTL, "--store", self.srv.url, "result", "download", "7", "--wait", "--timeout", "30s",
                              "-O", out], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.tmp)
        time.sleep(1.5)
        self.srv.results[(7, "record-7.dcm")] = b"done"
        stdout, stderr = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, stderr)
        self.assertEqual((stdout, stderr), (b"", b""))  # no notice when stderr is no terminal
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"done")
        self.assertGreaterEqual(self.srv.seen().count(("GET", P + "/download/7/")), 3)

    def test_download_wait_times_out_with_10(self):
        started = time.monotonic()
        r = self.wfails(10, "result", "download", "7", "--wait", "--timeout", "1s", "-O", os.path.join(self.tmp, "x"))
        self.assertIn("timed out after 1s waiting for records/7/record-7.dcm", r.errtext)
        self.assertLess(time.monotonic() - started, 5)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x")))

    def test_download_wait_on_a_local_store(self):
        self.assertEqual(self.run_wfctl("result", "download", "7", "--wait", "--timeout", "300ms").code, 10)
        r = self.run_wfctl("result", "download", "7", "--timeout", "1s")
        self.assertEqual(r.code, 2, r)


class Tls(WfctlTestCase):
    def setUp(self):
        super().setUp()
        self.cert = os.path.join(self.tmp, "cert.pem")
        self.key = os.path.join(self.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", self.key, "-out", self.cert],
                       check=True, capture_output=True)
        self.srv = FaultServer(self.cert, self.key).__enter__()
        self.addCleanup(self.srv.__exit__, None, None, None)

    def test_verification_is_on_by_default_and_ca_file_or_insecure_pass(self):
        r = self.run_wfctl("--store", self.srv.url, "get", "1")
        self.assertEqual(r.code, 6, r)
        self.assertIn("TLS verification failed", r.errtext)
        self.assertIn("--ca-file", r.errtext)
        r = self.run_wfctl("--store", self.srv.url, "--ca-file", self.cert, "get", "1")
        self.assertEqual(r.code, 3, r)  # reached the server: workflow 1 does not exist
        r = self.run_wfctl("--store", self.srv.url, "get", "1", env={"WFCTL_INSECURE": "true"})
        self.assertEqual(r.code, 3, r)
        r = self.run_wfctl("--store", self.srv.url, "--insecure", "get", "1")
        self.assertEqual(r.code, 3, r)
