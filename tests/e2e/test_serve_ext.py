"""End-to-end: the extension routes of `wfctl serve` (docs/serve-api.md): the server
description, the OpenAPI document, list filters and paging, PUT with a definition, batch,
apply and delete all or nothing, jobs submitted, run by `wfctl worker --once`, waited for,
cancelled, retried and their logs."""
import json
import os

from harness import PYDICOM_FILES
from serve_harness import PREFIX, ServeTest, multipart

MR_SMALL = os.path.join(PYDICOM_FILES, "MR_small.dcm")

# Every route the server answers: (method, path as the OpenAPI document writes it, a concrete path).
ROUTES = [
    ("get", "/", "/"), ("post", "/", "/"), ("get", "/meta/", "/meta/"),
    ("get", "/{workflow_id}", "/1"), ("delete", "/{workflow_id}", "/1"), ("put", "/{workflow_id}/", "/1/"),
    ("post", "/batch/", "/batch/"), ("post", "/apply/", "/apply/"), ("post", "/delete/", "/delete/"),
    ("post", "/upload/{record_id}/", "/upload/1/"), ("get", "/download/{record_id}/", "/download/1/"),
    ("get", "/image/{record_id}/", "/image/1/"), ("get", "/results/", "/results/"),
    ("get", "/results/{record_id}/", "/results/1/"), ("delete", "/results/{record_id}/", "/results/1/"),
    ("get", "/results/{record_id}/{name}", "/results/1/a"), ("delete", "/results/{record_id}/{name}", "/results/1/a"),
    ("get", "/jobs/", "/jobs/"), ("post", "/jobs/", "/jobs/"), ("get", "/jobs/{job_id}", "/jobs/1"),
    ("get", "/jobs/{job_id}/wait", "/jobs/1/wait"), ("get", "/jobs/{job_id}/logs", "/jobs/1/logs"),
    ("post", "/jobs/cancel/", "/jobs/cancel/"), ("post", "/jobs/retry/", "/jobs/retry/"),
    ("post", "/jobs/claim/", "/jobs/claim/"), ("get", "/jobs/depth", "/jobs/depth"),
    ("post", "/jobs/{job_id}/heartbeat", "/jobs/1/heartbeat"), ("post", "/jobs/{job_id}/finish", "/jobs/1/finish"),
    ("post", "/jobs/{job_id}/release", "/jobs/1/release"), ("post", "/jobs/{job_id}/log", "/jobs/1/log"),
    ("get", "/health/readiness", "/health/readiness"), ("get", "/server", "/server"),
    ("get", "/openapi.json", "/openapi.json"),
]


def compact(value):
    return json.dumps(value, separators=(",", ":")).encode()


class ExtensionTest(ServeTest):
    def body(self, method, path, payload=None, status=200, **kw):
        code, headers, data = self.s.request(method, path, payload, **kw)
        self.assertEqual(code, status, (method, path, data))
        return json.loads(data) if data else None

    def test_server_description_and_server_header(self):
        status, headers, data = self.s.request("GET", "/server")
        self.assertEqual(status, 200)
        self.assertEqual(headers["server"], "wfctl/0.1.0")
        self.assertEqual(data, b'{"name":"wfctl","version":"0.1.0","api":1,"capabilities":{"multi_object_transactions":true,'
                               b'"result_listing":true,"arbitrary_result_names":true,"stored_digests":true,'
                               b'"definition_update":true,"result_deletion":true,"job_queue":true}}')
        self.assertEqual(self.s.request("GET", "/nowhere/x/y/z")[1]["server"], "wfctl/0.1.0")

    def test_openapi_lists_every_route_the_server_answers(self):
        doc = self.body("GET", "/openapi.json")
        self.assertEqual(doc["openapi"][:4], "3.0.")
        listed = {(m, p) for p, ops in doc["paths"].items() for m in ops}
        expected = {(m, PREFIX + p) for m, p, _ in ROUTES}
        self.assertEqual(listed, expected)
        for method, _, concrete in ROUTES:
            # Each one is a route: whatever it answers, it is neither "Not Found" for the path
            # nor "Method Not Allowed".
            status, _, data = self.s.request(method.upper(), concrete, timeout=70 if "wait" in concrete else 30)
            self.assertNotIn(data, (b'{"detail":"Not Found"}', b'{"detail":"Method Not Allowed"}'), (method, concrete))
        for ref in json.dumps(doc).split('"$ref": "')[1:]:
            name = ref.split('"')[0].rsplit("/", 1)[1]
            self.assertIn(name, doc["components"]["schemas"])

    def test_list_filters_sort_and_paging(self):
        for name, version, author in (("b", "1", "x"), ("a", "2", "y"), ("c", "1", "x"), ("a", "1", None)):
            self.create(name=name, version=version, author=author)
        ids = lambda path: [w["id"] for w in self.body("GET", path)]
        self.assertEqual(ids("/?name=a"), [2, 4])
        self.assertEqual(ids("/meta/?author=x&version=1"), [1, 3])
        self.assertEqual(ids("/?sort_by=name"), [2, 4, 1, 3])
        self.assertEqual(ids("/?sort_by=name&order=desc"), [3, 1, 4, 2])
        self.assertEqual(ids("/?limit=2&offset=1"), [2, 3])
        self.assertEqual(ids("/meta/?offset=3"), [4])
        self.assertEqual(ids("/?offset=9"), [])
        self.assertEqual(ids("/?limit=0"), [])
        self.assertEqual(list(self.body("GET", "/meta/?limit=1")[0])[-1], "datetime_updated")

        def bad(path, name, msg, type_):
            self.assert_json(self.s.request("GET", path), 422, compact({"detail": [{"loc": ["query", name], "msg": msg, "type": type_}]}))
        bad("/?limit=-1", "limit", "ensure this value is greater than or equal to 0", "value_error.number.not_ge")
        bad("/?offset=-1", "offset", "ensure this value is greater than or equal to 0", "value_error.number.not_ge")
        bad("/?limit=x", "limit", "value is not a valid integer", "type_error.integer")
        bad("/meta/?sort_by=size", "sort_by", "value is not a valid enumeration member", "type_error.enum")
        bad("/?order=up", "order", "value is not a valid enumeration member; permitted: 'asc', 'desc'", "type_error.enum")

    def test_put_with_a_definition_replaces_it(self):
        self.create(definition={"old": 1})
        w = self.body("PUT", "/1/", {"name": "n", "version": "2", "definition": {"new": [1]}})
        self.assertEqual((w["name"], w["definition"]), ("n", {"new": [1]}))
        self.assertEqual(self.body("GET", "/1")["definition"], {"new": [1]})
        w = self.body("PUT", "/1", {"name": "n", "version": "3"})
        self.assertEqual(w["definition"], {"new": [1]})  # kept when absent
        self.assert_json(self.s.request("PUT", "/1/", {"name": "n", "version": "3", "definition": [1]}), 422,
                         b'{"detail":[{"loc":["body","definition"],"msg":"value is not a valid dict","type":"type_error.dict"}]}')
        self.assert_json(self.s.request("PUT", "/1/", {"version": "3", "definition": None}), 422,
                         b'{"detail":[{"loc":["body","name"],"msg":"field required","type":"value_error.missing"},'
                         b'{"loc":["body","definition"],"msg":"none is not an allowed value","type":"type_error.none.not_allowed"}]}')
        self.assertEqual(self.body("GET", "/1")["version"], "3")

    def test_batch_apply_and_delete_all_or_nothing(self):
        created = self.body("POST", "/batch/", [{"name": "a", "version": "1", "definition": {}},
                                                {"name": "b", "version": "1", "definition": {"x": 1}}], status=201)
        self.assertEqual([w["id"] for w in created], [1, 2])
        self.assertEqual(list(created[0]), ["name", "description", "version", "author", "id", "datetime_created",
                                            "datetime_updated", "definition"])
        r = self.s.request("POST", "/batch/", [{"name": "c", "version": "1", "definition": {}}, {"name": "d", "definition": 1}])
        self.assert_json(r, 422, b'{"detail":[{"loc":["body",1,"version"],"msg":"field required","type":"value_error.missing"},'
                                 b'{"loc":["body",1,"definition"],"msg":"value is not a valid dict","type":"type_error.dict"}]}')
        self.assert_json(self.s.request("POST", "/batch/", {"name": "x"}), 422,
                         b'{"detail":[{"loc":["body"],"msg":"value is not a valid list","type":"type_error.list"}]}')
        self.assertEqual(len(self.body("GET", "/")), 2)

        out = self.body("POST", "/apply/", [{"name": "a", "version": "1", "definition": {}},
                                            {"name": "b", "version": "1", "definition": {"x": 2}},
                                            {"name": "c", "version": "1", "definition": {}}])
        self.assertEqual([(o["action"], o["workflow"]["id"]) for o in out], [("unchanged", 1), ("configured", 2), ("created", 3)])
        self.assertEqual(list(out[0]), ["action", "workflow"])
        status, _, data = self.s.request("POST", "/apply/", [{"name": "z", "version": "1", "definition": {}},
                                                             {"name": "z", "version": "1", "definition": {}}])
        self.assertEqual(status, 409, data)
        self.assertEqual(len(self.body("GET", "/")), 3)

        status, _, data = self.s.request("POST", "/delete/", {"ids": [1, 99]})
        self.assertEqual(status, 404, data)
        self.assertIn("99", json.loads(data)["detail"])
        self.assertEqual(len(self.body("GET", "/")), 3)  # nothing deleted
        self.assertEqual(self.body("POST", "/delete/", {"ids": [1, 99], "ignore_not_found": True}), {"deleted": [1]})
        self.assert_json(self.s.request("POST", "/delete/", {"ids": [2, 3]}), 200, b'{"deleted":[2,3]}')
        self.assert_json(self.s.request("POST", "/delete/", {"ids": "x"}), 422,
                         b'{"detail":[{"loc":["body","ids"],"msg":"value is not a valid list","type":"type_error.list"}]}')
        self.assert_json(self.s.request("GET", "/batch/"), 405, b'{"detail":"Method Not Allowed"}')

    def test_results_listing_and_deletion(self):
        for record, name, content in ((7, "b.npy", b"bb"), (7, "a.npy", b"a"), (3, "x.npy", b"xxx")):
            body, ctype = multipart(name, content)
            self.body("POST", f"/upload/{record}/?job=false", body, headers={"Content-Type": ctype})
        listed = self.body("GET", "/results/")
        self.assertEqual([(f["record_id"], f["name"], f["size"]) for f in listed], [(3, "x.npy", 3), (7, "a.npy", 1), (7, "b.npy", 2)])
        self.assertEqual(list(listed[0]), ["record_id", "name", "size", "sha256", "datetime_stored"])
        self.assertEqual([f["name"] for f in self.body("GET", "/results/7/")], ["a.npy", "b.npy"])
        self.assertEqual(self.body("GET", "/results/8/"), [])
        removed = self.body("DELETE", "/results/7/a.npy")
        self.assertEqual([f["name"] for f in removed], ["a.npy"])
        self.assertFalse(os.path.exists(os.path.join(self.store, "records", "7", "a.npy")))
        self.assert_json(self.s.request("DELETE", "/results/7/a.npy"), 404, b'{"detail":"Result not found"}')
        self.assert_json(self.s.request("DELETE", "/results/7/a.npy?ignore_not_found=true"), 200, b"[]")
        self.assertEqual([f["name"] for f in self.body("DELETE", "/results/7/")], ["b.npy"])
        self.assert_json(self.s.request("DELETE", "/results/7/"), 404, b'{"detail":"Result not found"}')
        self.assert_json(self.s.request("DELETE", "/results/3/?ignore_not_found=maybe"), 422,
                         b'{"detail":[{"loc":["query","ignore_not_found"],"msg":"value could not be parsed to a boolean",'
                         b'"type":"type_error.bool"}]}')
        self.assertEqual(json.loads(self.ok("job", "list", "-o", "json").text), [])  # job=false submitted nothing

    def test_upload_force_false_conflicts_and_topic_names_the_job(self):
        body, ctype = multipart("k.npy", b"one")
        up = self.body("POST", "/upload/5/?topic=other_topic", body, headers={"Content-Type": ctype})
        self.assertEqual((up["job"]["topic"], up["job"]["input"]), ("other_topic", "records/5/k.npy"))
        body, ctype = multipart("k.npy", b"two")
        status, _, data = self.s.request("POST", "/upload/5/?force=false", body, {"Content-Type": ctype})
        self.assertEqual(status, 409, data)
        with open(os.path.join(self.store, "records", "5", "k.npy"), "rb") as f:
            self.assertEqual(f.read(), b"one")
        self.assertEqual(len(json.loads(self.ok("job", "list", "-o", "json").text)), 1)

    def test_jobs_submit_list_get_wait_logs_cancel_retry(self):
        body, ctype = multipart("kspace.npy", b"k")
        self.body("POST", "/upload/7/?job=false", body, headers={"Content-Type": ctype})
        job = self.body("POST", "/jobs/", {"record_id": 7, "input": "records/7/kspace.npy", "max_attempts": 2}, status=201)
        self.assertEqual((job["id"], job["status"], job["max_attempts"], job["output"], job["delivery"]),
                         (1, "queued", 2, "records/7/record-7.dcm", "local"))
        self.assertEqual(list(job)[:3], ["id", "topic", "record_id"])
        self.assert_json(self.s.request("POST", "/jobs/", {"input": 3}), 422,
                         b'{"detail":[{"loc":["body","record_id"],"msg":"field required","type":"value_error.missing"},'
                         b'{"loc":["body","input"],"msg":"str type expected","type":"type_error.str"}]}')
        self.assertEqual(self.body("GET", "/jobs/1"), job)
        self.assert_json(self.s.request("GET", "/jobs/9"), 404, b'{"detail":"Job not found"}')
        self.assertEqual([j["id"] for j in self.body("GET", "/jobs/?status=queued&record_id=7")], [1])
        self.assertEqual(self.body("GET", "/jobs/?status=failed"), [])
        # A wait that times out answers the current state.
        self.assertEqual(self.body("GET", "/jobs/1/wait?timeout=0")["status"], "queued")
        r = self.run_wfctl("worker", "--once", "--poll", "50ms", "--handler",
                           f"mri_cartesian_reco=sh -c 'echo handler-says-hi; cp {MR_SMALL} {{output}}'", timeout=60)
        self.assertEqual(r.code, 0, r)
        done = self.body("GET", "/jobs/1/wait?timeout=5")
        self.assertEqual((done["status"], done["attempts"]), ("succeeded", 1))
        status, headers, log = self.s.request("GET", "/jobs/1/logs")
        self.assertEqual((status, headers["content-type"]), (200, "text/plain; charset=utf-8"))
        self.assertIn(b"handler-says-hi\n", log)
        self.assertEqual(self.s.request("GET", f"/jobs/1/logs?offset={len(log)}")[2], b"")
        self.assertEqual(self.s.request("GET", "/download/7/")[0], 200)
        # Cancel and retry, all or nothing.
        second = self.body("POST", "/jobs/", {"record_id": 7, "input": "records/7/kspace.npy"}, status=201)
        self.assertEqual(self.s.request("POST", "/jobs/cancel/", {"ids": [second["id"], 1]})[0], 409)  # 1 succeeded
        self.assertEqual(self.body("GET", f"/jobs/{second['id']}")["status"], "queued")
        self.assertEqual(self.s.request("POST", "/jobs/cancel/", {"ids": [second["id"], 99]})[0], 404)
        cancelled = self.body("POST", "/jobs/cancel/", {"ids": [second["id"]]})
        self.assertEqual([j["status"] for j in cancelled], ["cancelled"])
        retried = self.body("POST", "/jobs/retry/", {"ids": [second["id"]]})
        self.assertEqual((retried[0]["status"], retried[0]["attempts"]), ("queued", 0))
        self.assertEqual(self.s.request("POST", "/jobs/retry/", {"ids": [1]})[0], 409)
        self.assert_json(self.s.request("GET", "/jobs/1/wait?timeout=x"), 422,
                         b'{"detail":[{"loc":["query","timeout"],"msg":"value is not a valid integer","type":"type_error.integer"}]}')
        self.assert_json(self.s.request("GET", "/jobs/abc"), 422,
                         b'{"detail":[{"loc":["path","job_id"],"msg":"value is not a valid integer","type":"type_error.integer"}]}')
