"""End-to-end: `wfctl serve` answers the ScanHub workflow-manager contract byte for byte.

Each test starts the built binary on 127.0.0.1 port 0 (the bound address read from stderr)
and speaks raw HTTP with http.client, so that status codes, bodies and headers are exactly
what a client sees. The contract is shared/reference/scanhub-api.md.
"""
import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time

from harness import PYDICOM_FILES
from serve_harness import DT, PREFIX, ServeTest, multipart



class ContractTest(ServeTest):
    # --- workflows ---

    def test_create_get_list_meta_in_the_reference_key_order(self):
        w = self.create(description="d", author="a", definition={"b": 1, "a": [2]})
        self.assertEqual(list(w), ["name", "description", "version", "author", "id", "datetime_created",
                                   "datetime_updated", "definition"])
        self.assertEqual(w["id"], 1)
        self.assertRegex(w["datetime_created"], DT)
        self.assertIsNone(w["datetime_updated"])
        created = w["datetime_created"]
        expected = ('{"name":"reco","description":"d","version":"1","author":"a","id":1,'
                    f'"datetime_created":"{created}","datetime_updated":null,"definition":{{"b":1,"a":[2]}}}}').encode()
        self.assert_json(self.s.request("GET", "/1"), 200, expected)
        self.assert_json(self.s.request("GET", "/"), 200, b"[" + expected + b"]")
        meta = expected[:expected.index(b',"definition"')] + b"}"
        self.assert_json(self.s.request("GET", "/meta/"), 200, b"[" + meta + b"]")
        # The other slash forms are accepted directly.
        self.assert_json(self.s.request("GET", "/1/"), 200, expected)
        self.assert_json(self.s.request("GET", "/meta"), 200, b"[" + meta + b"]")
        self.assert_json(self.s.request("GET", "", prefix=PREFIX), 200, b"[" + expected + b"]")

    def test_empty_list_null_author_and_coerced_version(self):
        self.assert_json(self.s.request("GET", "/"), 200, b"[]")
        self.assert_json(self.s.request("GET", "/meta/"), 200, b"[]")
        status, _, data = self.s.request("POST", "/", {"name": "n", "version": 2, "author": None, "definition": {},
                                                      "unknown": 1})
        self.assertEqual(status, 201, data)
        w = json.loads(data)
        self.assertEqual((w["version"], w["author"], w["description"]), ("2", None, None))

    def test_create_422_items_in_field_order(self):
        def item(field, msg="field required", type_="value_error.missing"):
            return {"loc": ["body", field] if field else ["body"], "msg": msg, "type": type_}

        cases = [
            ({"definition": {}}, [item("name"), item("version")]),
            ({"name": "n", "version": "1"}, [item("definition")]),
            ({}, [item("name"), item("version"), item("definition")]),
            ({"name": "n", "version": "1", "definition": "x"},
             [item("definition", "value is not a valid dict", "type_error.dict")]),
            ({"name": "n", "version": "1", "definition": [1, 2]},
             [item("definition", "value is not a valid dict", "type_error.dict")]),
            ({"name": "n", "version": "1", "definition": None},
             [item("definition", "none is not an allowed value", "type_error.none.not_allowed")]),
            ([1], [item(None, "value is not a valid dict", "type_error.dict")]),
        ]
        for body, items in cases:
            r = self.s.request("POST", "/", body)
            self.assert_json(r, 422, json.dumps({"detail": items}, separators=(",", ":")).encode())
        r = self.s.request("POST", "/", b"", {"Content-Type": "application/json"})
        self.assert_json(r, 422, b'{"detail":[{"loc":["body"],"msg":"field required","type":"value_error.missing"}]}')
        r = self.s.request("POST", "/", b"name=n", {"Content-Type": "application/x-www-form-urlencoded"})
        self.assert_json(r, 422, b'{"detail":[{"loc":["body"],"msg":"value is not a valid dict","type":"type_error.dict"}]}')
        status, _, data = self.s.request("POST", "/", b'{"name": }', {"Content-Type": "application/json"})
        self.assertEqual(status, 422, data)
        d = json.loads(data)["detail"][0]
        self.assertEqual((d["loc"], d["msg"], d["type"]),
                         (["body", 9], "Expecting value: line 1 column 10 (char 9)", "value_error.jsondecode"))
        self.assert_json(self.s.request("GET", "/"), 200, b"[]")  # nothing was stored

    def test_non_integer_ids_404_and_405(self):
        bad = b'{"detail":[{"loc":["path","workflow_id"],"msg":"value is not a valid integer","type":"type_error.integer"}]}'
        for path in ("/abc", "/1.5"):
            self.assert_json(self.s.request("GET", path), 422, bad)
            self.assert_json(self.s.request("DELETE", path), 422, bad)
        self.assert_json(self.s.request("PUT", "/abc/", {"name": "n", "version": "1"}), 422, bad)
        nf = b'{"detail":"Workflow not found"}'
        self.assert_json(self.s.request("GET", "/7"), 404, nf)
        self.assert_json(self.s.request("DELETE", "/7"), 404, nf)
        self.assert_json(self.s.request("PUT", "/7/", {"name": "n", "version": "1"}), 404, nf)
        self.assert_json(self.s.request("GET", "/a/b/c"), 404, b'{"detail":"Not Found"}')
        self.assert_json(self.s.request("GET", "/x", prefix="/elsewhere"), 404, b'{"detail":"Not Found"}')
        na = b'{"detail":"Method Not Allowed"}'
        self.assert_json(self.s.request("POST", "/1"), 405, na)
        self.assert_json(self.s.request("DELETE", "/"), 405, na)
        self.assert_json(self.s.request("POST", "/meta/"), 405, na)
        self.assert_json(self.s.request("GET", "/upload/1/"), 405, na)
        self.assert_json(self.s.request("POST", "/download/1/"), 405, na)
        self.assert_json(self.s.request("POST", "/health/readiness"), 405, na)

    def test_put_replaces_the_meta_fields_and_keeps_the_definition(self):
        self.create(description="d", author="a", definition={"k": 1})
        status, _, data = self.s.request("PUT", "/1/", {"name": "m", "version": "2"})
        self.assertEqual(status, 200, data)
        w = json.loads(data)
        self.assertEqual((w["name"], w["version"], w["description"], w["author"], w["definition"]),
                         ("m", "2", None, None, {"k": 1}))
        self.assertRegex(w["datetime_updated"], DT)
        self.assertEqual(json.loads(self.s.request("GET", "/1")[2]), w)
        r = self.s.request("PUT", "/1/", {"version": "2"})
        self.assert_json(r, 422, b'{"detail":[{"loc":["body","name"],"msg":"field required","type":"value_error.missing"}]}')
        self.assertEqual(self.s.request("PUT", "/1", {"name": "x", "version": "3"})[0], 200)  # the other slash form

    def test_delete_answers_204_with_no_body(self):
        self.create()
        status, headers, data = self.s.request("DELETE", "/1")
        self.assertEqual((status, data), (204, b""))
        self.assert_json(self.s.request("GET", "/1"), 404, b'{"detail":"Workflow not found"}')
        self.assertEqual(self.ok("list", "-o", "name").text, "")
        # Ids are never reused.
        self.assertEqual(self.create()["id"], 2)

    def test_health(self):
        self.assert_json(self.s.request("GET", "/health/readiness"), 200, b'{"status":"ok"}')

    # --- results ---

    def test_upload_stores_the_file_and_submits_the_reconstruction_job(self):
        content = os.urandom(300000)
        body, ctype = multipart("kspace.npy", content)
        r = self.s.request("POST", "/upload/7/", body, {"Content-Type": ctype})
        self.assertEqual(r[0], 200, r)
        answer = json.loads(r[2])
        self.assertEqual(list(answer), ["message", "result", "job"])
        self.assertEqual(answer["message"], "Successfully uploaded kspace.npy")
        self.assertEqual(list(answer["result"]), ["record_id", "name", "size", "sha256", "datetime_stored"])
        self.assertEqual(answer["result"]["sha256"], hashlib.sha256(content).hexdigest())
        self.assertEqual((answer["job"]["id"], answer["job"]["input"], answer["job"]["status"]),
                         (1, "records/7/kspace.npy", "queued"))
        with open(os.path.join(self.store, "records", "7", "kspace.npy"), "rb") as f:
            self.assertEqual(f.read(), content)
        jobs = json.loads(self.ok("job", "list", "-o", "json").text)
        self.assertEqual(len(jobs), 1, jobs)
        self.assertEqual((jobs[0]["record_id"], jobs[0]["input"]), (7, "records/7/kspace.npy"))
        # The same name again replaces the file.
        body, ctype = multipart("kspace.npy", b"second")
        self.assertEqual(self.s.request("POST", "/upload/7", body, {"Content-Type": ctype})[0], 200)
        with open(os.path.join(self.store, "records", "7", "kspace.npy"), "rb") as f:
            self.assertEqual(f.read(), b"second")

    def test_upload_then_download_and_image_byte_identical(self):
        with open(os.path.join(PYDICOM_FILES, "CT_small.dcm"), "rb") as f:
            dicom = f.read()
        body, ctype = multipart("record-8.dcm", dicom)
        status, _, data = self.s.request("POST", "/upload/8/", body, {"Content-Type": ctype})
        self.assertEqual(status, 200, data)
        answer = json.loads(data)
        self.assertEqual((answer["message"], answer["result"]["size"], answer["job"]),
                         ("Successfully uploaded record-8.dcm", len(dicom), None))  # a result submits nothing
        status, headers, data = self.s.request("GET", "/download/8/")
        self.assertEqual((status, data == dicom), (200, True))
        self.assertEqual(headers["content-type"], "application/octet-stream")
        self.assertEqual(headers["content-disposition"], 'attachment; filename="record-8.dcm"')
        self.assertEqual(headers["content-length"], str(len(dicom)))
        status, headers, data = self.s.request("GET", "/image/8/")
        self.assertEqual((status, data == dicom, headers["content-type"]), (200, True, "text/html; charset=utf-8"))
        self.assertEqual(self.s.request("GET", "/download/8")[2], dicom)  # the other slash form

    def test_missing_results_are_404(self):
        nf = b'{"detail":"Result not found"}'
        self.assert_json(self.s.request("GET", "/download/9/"), 404, nf)
        self.assert_json(self.s.request("GET", "/image/9/"), 404, nf)
        bad = b'{"detail":[{"loc":["path","record_id"],"msg":"value is not a valid integer","type":"type_error.integer"}]}'
        self.assert_json(self.s.request("GET", "/download/x/"), 422, bad)
        self.assert_json(self.s.request("GET", "/image/1.5/"), 422, bad)

    def test_unsafe_upload_names_are_refused_and_nothing_is_written(self):
        before = self.snapshot()
        for name in ("../x", "..", "a/b", "%2e%2e%2fx", "..%2fx", "%2e%2e", "a\\b"):
            body, ctype = multipart(name, b"evil")
            status, headers, data = self.s.request("POST", "/upload/3/", body, {"Content-Type": ctype})
            self.assertEqual(status, 422, (name, data))
            d = json.loads(data)["detail"]
            self.assertEqual((d[0]["loc"], d[0]["type"]), (["body", "file"], "value_error.filename"), (name, d))
            self.assertIn("unsafe file name", d[0]["msg"], name)
        self.assertEqual(self.snapshot(), before)
        self.assertFalse(os.path.exists(os.path.join(self.store, "records", "x")))
        self.assertFalse(os.path.exists(os.path.join(self.store, "x")))
        body, ctype = multipart("k.npy", b"data", field="other")
        r = self.s.request("POST", "/upload/3/", body, {"Content-Type": ctype})
        self.assert_json(r, 422, b'{"detail":[{"loc":["body","file"],"msg":"field required","type":"value_error.missing"}]}')

    def test_oversize_upload_is_413(self):
        s = self.start("--max-upload-size", "1K")
        body, ctype = multipart("big.npy", b"x" * 1025)
        status, _, data = s.request("POST", "/upload/4/", body, {"Content-Type": ctype})
        self.assertEqual(status, 413, data)
        self.assertIn("upload limit of 1024 bytes", json.loads(data)["detail"])
        self.assertFalse(os.path.exists(os.path.join(self.store, "records", "4")))
        body, ctype = multipart("small.npy", b"x" * 1024)
        self.assertEqual(s.request("POST", "/upload/4/", body, {"Content-Type": ctype})[0], 200)

    # --- the server ---

    def test_bearer_token(self):
        token = self.write("token", "s3cret-token\n")
        os.chmod(token, 0o644)
        r = self.fails(2, "serve", "--listen", "127.0.0.1:0", "--token-file", token)
        self.assertIn("is readable by everyone", r.errtext)
        os.chmod(token, 0o600)
        s = self.start("--token-file", token)
        na = b'{"detail":"Not authenticated"}'
        self.assert_json(s.request("GET", "/"), 401, na)
        self.assert_json(s.request("GET", "/", headers={"Authorization": "Bearer wrong"}), 401, na)
        self.assert_json(s.request("GET", "/", headers={"Authorization": "Bearer s3cret-token-longer"}), 401, na)
        self.assert_json(s.request("GET", "/1", headers={"Authorization": "s3cret-token"}), 401, na)
        self.assert_json(s.request("GET", "/nowhere/at/all"), 401, na)
        self.assert_json(s.request("GET", "/health/readiness"), 200, b'{"status":"ok"}')
        self.assert_json(s.request("GET", "/", headers={"Authorization": "Bearer s3cret-token"}), 200, b"[]")
        s.stop()
        self.assertFalse(any("s3cret" in line for line in s.log), s.log)

    def test_access_log_and_sigterm_exit_0(self):
        self.create()
        self.s.request("GET", "/1")
        self.s.request("GET", "/abc")
        self.assertEqual(self.s.stop(), 0)
        lines = [l for l in self.s.log if '"/api/v1/workflow' in l]
        self.assertEqual(len(lines), 3, self.s.log)
        # A line is written once its connection's thread has sent the answer, so two requests
        # on two connections may be logged in either order.
        get = [l for l in lines if '"/api/v1/workflow/1"' in l]
        self.assertEqual(len(get), 1, lines)
        self.assertRegex(get[0], r'^wfctl serve: 127\.0\.0\.1 GET "/api/v1/workflow/1" 200 \d+ \d+\.\dms\n$')
        self.assertEqual(len([l for l in lines if re.search(r'GET "/api/v1/workflow/abc" 422 \d+ ', l)]), 1, lines)

    def test_a_bad_listen_address_is_a_usage_error(self):
        r = self.fails(2, "serve", "--listen", "nowhere")
        self.assertIn("invalid --listen 'nowhere'", r.errtext)
        r = self.fails(2, "serve", "--max-upload-size", "12Q")
        self.assertIn("invalid --max-upload-size '12Q'", r.errtext)
