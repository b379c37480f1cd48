"""End-to-end: files through `wfctl serve`: downloads with Range, ETag/If-None-Match, HEAD and
Repr-Digest; unsafe names in paths and uploads (percent-encoded too); the upload limit; a
client that hangs up mid-upload or mid-download; bearer token and CORS on these routes."""
import base64
import hashlib
import json
import os
import socket
import time

from serve_harness import PREFIX, ServeTest, multipart


def lake_files(root):
    """Every file under the store's folder, the SQLite files aside."""
    out = set()
    for d, _, files in os.walk(root):
        for f in files:
            if not f.startswith("wfctl.db") and not f.endswith((".db", ".db-wal", ".db-shm", ".lock")):
                out.add(os.path.relpath(os.path.join(d, f), root))
    return out


class FilesTest(ServeTest):
    def upload(self, record, name, content, server=None, query=""):
        body, ctype = multipart(name, content)
        status, _, data = (server or self.s).request("POST", f"/upload/{record}/{query}", body, {"Content-Type": ctype})
        self.assertEqual(status, 200, data)
        return json.loads(data)

    def test_download_headers_range_etag_head(self):
        content = os.urandom(100000)
        self.upload(7, "kspace.npy", content, query="?job=false")
        sha = hashlib.sha256(content).hexdigest()
        status, h, data = self.s.request("GET", "/results/7/kspace.npy")
        self.assertEqual((status, data == content), (200, True))
        self.assertEqual((h["content-length"], h["etag"], h["accept-ranges"], h["content-type"], h["content-disposition"]),
                         ("100000", f'"{sha}"', "bytes", "application/octet-stream", 'attachment; filename="kspace.npy"'))
        digest = h["repr-digest"]
        self.assertEqual(digest, "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":")
        # One range, an open range, a suffix range.
        for spec, first, last in (("bytes=10-19", 10, 19), ("bytes=99990-", 99990, 99999), ("bytes=-5", 99995, 99999),
                                  ("bytes=0-999999", 0, 99999)):
            status, h, data = self.s.request("GET", "/results/7/kspace.npy", headers={"Range": spec})
            self.assertEqual((status, data, h["content-range"], h["content-length"]),
                             (206, content[first:last + 1], f"bytes {first}-{last}/100000", str(last - first + 1)), spec)
        status, h, data = self.s.request("GET", "/results/7/kspace.npy", headers={"Range": "bytes=100000-"})
        self.assertEqual((status, h["content-range"]), (416, "bytes */100000"), data)
        # The ETag.
        status, h, data = self.s.request("GET", "/results/7/kspace.npy", headers={"If-None-Match": f'"{sha}"'})
        self.assertEqual((status, data, h["etag"]), (304, b"", f'"{sha}"'))
        self.assertEqual(self.s.request("GET", "/results/7/kspace.npy", headers={"If-None-Match": '"other"'})[0], 200)
        # HEAD: the headers, no body.
        status, h, data = self.s.request("HEAD", "/results/7/kspace.npy")
        self.assertEqual((status, data, h["content-length"], h["etag"]), (200, b"", "100000", f'"{sha}"'))
        # A JSON answer is never cut by a Range header.
        status, _, data = self.s.request("GET", "/results/7/none.npy", headers={"Range": "bytes=0-3"})
        self.assertEqual((status, data), (404, b'{"detail":"Result not found"}'))

    def test_download_and_image_carry_the_same_headers_and_404(self):
        content = b"\0" * 128 + b"DICM" + os.urandom(1000)  # not parsed by the server: stored as the record's result
        # record-N.dcm must be DICOM: store a real one.
        from harness import PYDICOM_FILES
        with open(os.path.join(PYDICOM_FILES, "CT_small.dcm"), "rb") as f:
            content = f.read()
        self.upload(4, "record-4.dcm", content)
        for route, ctype in (("download", "application/octet-stream"), ("image", "text/html; charset=utf-8")):
            status, h, data = self.s.request("GET", f"/{route}/4/", headers={"Range": "bytes=0-131"})
            self.assertEqual((status, data, h["content-type"], h["content-range"]),
                             (206, content[:132], ctype, f"bytes 0-131/{len(content)}"))
            self.assertEqual(h["etag"], '"' + hashlib.sha256(content).hexdigest() + '"')
            self.assertEqual(h["content-disposition"], 'attachment; filename="record-4.dcm"')
            self.assert_json(self.s.request("GET", f"/{route}/5/"), 404, b'{"detail":"Result not found"}')
            self.assertEqual(self.s.request("HEAD", f"/{route}/4/")[1]["content-length"], str(len(content)))

    def test_unsafe_names_in_paths_and_uploads_are_422(self):
        self.upload(3, "ok.npy", b"fine", query="?job=false")
        before = lake_files(self.store)
        for raw in ("%2e%2e", "..%2fx", "a%2Fb", "a%5Cb", "%00x", "%252e%252e", "..", ".", "a%0Ab"):
            status, _, data = self.s.request("GET", f"/results/3/{raw}")
            self.assertEqual(status, 422, (raw, data))
            d = json.loads(data)["detail"][0]
            self.assertEqual((d["loc"], d["type"]), (["path", "name"], "value_error.filename"), raw)
            self.assertEqual(self.s.request("DELETE", f"/results/3/{raw}")[0], 422, raw)
        for name in ("../x", "x/../../y", "a\\b", "%2e%2e", "..%5c", "a\x00b", " ", ".hidden/../x"):
            body, ctype = multipart(name, b"evil")
            status, _, data = self.s.request("POST", "/upload/3/", body, {"Content-Type": ctype})
            self.assertEqual(status, 422, (name, data))
            self.assertEqual(json.loads(data)["detail"][0]["loc"], ["body", "file"], name)
        self.assertEqual(lake_files(self.store), before)

    def test_oversize_upload_413_leaves_nothing_even_unannounced(self):
        s = self.start("--max-upload-size", "64K")
        before = lake_files(self.store)
        body, ctype = multipart("big.npy", os.urandom(65537))
        status, _, data = s.request("POST", "/upload/4/", body, {"Content-Type": ctype})
        self.assertEqual((status, json.loads(data)), (413, {"detail": "the file is larger than the upload limit of 65536 bytes"}))
        # Chunked: no Content-Length to refuse early; the stream is cut at the limit.
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        head = (f"POST {PREFIX}/upload/4/ HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
                "Transfer-Encoding: chunked\r\n\r\n").encode()
        sock.sendall(head)
        try:
            for i in range(0, len(body), 8192):
                chunk = body[i:i + 8192]
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass
        answer = sock.recv(65536)
        sock.close()
        self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer)
        self.assertEqual(lake_files(self.store), before)
        # Cut early enough, the server has not even created the store (a hint says so).
        for what in ("result", "job"):
            r = self.run_wfctl(what, "list", "-o", "json")
            self.assertEqual((r.code, json.loads(r.text)), (0, []), r)
        self.upload(4, "small.npy", b"x" * 65536, server=s)

    def test_hang_up_mid_upload_and_mid_download_leaves_nothing_and_serves_on(self):
        content = os.urandom(3 << 20)
        self.upload(2, "whole.npy", content, query="?job=false")
        before = lake_files(self.store)
        body, ctype = multipart("half.npy", os.urandom(2 << 20))
        sock = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
        sock.sendall((f"POST {PREFIX}/upload/2/ HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n").encode() + body[:len(body) // 2])
        time.sleep(0.3)
        sock.close()
        sock = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
        sock.sendall(f"GET {PREFIX}/results/2/whole.npy HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        sock.recv(1000)
        sock.close()
        deadline = time.time() + 10
        while time.time() < deadline and lake_files(self.store) != before:
            time.sleep(0.1)
        self.assertEqual(lake_files(self.store), before)
        # The access log has the request that got no answer, as nginx logs it: 499, no body.
        aborted = f'POST "{PREFIX}/upload/2/" 499 0 '
        while time.time() < deadline and not any(aborted in line for line in self.s.log):
            time.sleep(0.1)
        self.assertTrue(any(aborted in line for line in self.s.log), self.s.log)
        self.assertEqual([f["name"] for f in json.loads(self.s.request("GET", "/results/2/")[2])], ["whole.npy"])
        self.assertEqual(self.s.request("GET", "/results/2/whole.npy")[2], content)

    def test_token_and_cors(self):
        token = self.write("token", "  t0ken \n")
        os.chmod(token, 0o600)
        s = self.start("--token-file", token, "--cors-origin", "https://ui.example", "--cors-origin", "http://localhost:3000")
        auth = {"Authorization": "Bearer t0ken"}
        for method, path in (("GET", "/results/"), ("GET", "/download/1/"), ("POST", "/upload/1/"), ("GET", "/jobs/"),
                             ("GET", "/server"), ("GET", "/openapi.json"), ("POST", "/batch/")):
            status, h, data = s.request(method, path)
            self.assertEqual((status, h.get("www-authenticate"), data), (401, "Bearer", b'{"detail":"Not authenticated"}'), path)
        self.assertEqual(s.request("GET", "/health/readiness")[0], 200)
        self.assertEqual(s.request("GET", "/results/", headers=auth)[0], 200)
        self.assertEqual(s.request("GET", "/results/", headers={"Authorization": "bearer t0ken"})[0], 200)
        # CORS: the listed origins only; a preflight needs no token.
        status, h, _ = s.request("OPTIONS", "/", headers={"Origin": "https://ui.example", "Access-Control-Request-Method": "POST"})
        self.assertEqual((status, h["access-control-allow-origin"]), (204, "https://ui.example"))
        self.assertIn("Authorization", h["access-control-allow-headers"])
        self.assertIn("POST", h["access-control-allow-methods"])
        status, h, _ = s.request("GET", "/", headers={"Origin": "http://localhost:3000", **auth})
        self.assertEqual((status, h["access-control-allow-origin"], h["vary"]), (200, "http://localhost:3000", "Origin"))
        status, h, _ = s.request("GET", "/", headers={"Origin": "https://evil.example", **auth})
        self.assertEqual((status, "access-control-allow-origin" in h), (200, False))
        status, h, _ = s.request("OPTIONS", "/", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        self.assertEqual((status, "access-control-allow-origin" in h), (401, False))
        # Without --cors-origin, no CORS header at all.
        status, h, _ = self.s.request("GET", "/", headers={"Origin": "https://ui.example"})
        self.assertEqual((status, "access-control-allow-origin" in h), (200, False))
        s.stop()
        self.assertFalse(any("t0ken" in line for line in s.log), s.log)
