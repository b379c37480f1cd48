"""A small imitation of the ScanHub reference workflow manager (shared/reference/scanhub-api.md)
on 127.0.0.1, port 0, that can inject the faults a real server does not produce on demand:
error statuses (with Retry-After), dropped connections, slow answers, the reference's
200-with-error upload, redirects, 422 detail lists. It records every request it received.

Use:
    with FaultServer() as srv:           # srv.url is http://127.0.0.1:PORT
        srv.fault("GET", "/api/v1/workflow/1", status=503, times=2, headers={"Retry-After": "1"})
        ...
        srv.requests                     # [Request(method, path, query, headers, body), ...]
"""
import datetime
import http.server
import json
import re
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

PREFIX = "/api/v1/workflow"


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict
    body: bytes


@dataclass
class Fault:
    method: str
    path: str
    times: int = 1
    status: int = 0            # answer this status (with body / headers) instead
    body: object = None        # JSON-able, or bytes
    headers: dict = field(default_factory=dict)
    delay: float = 0.0         # sleep first (then answer normally unless status is set)
    drop_after: int = -1       # send the real answer's headers and this many body bytes, then close
    upload_error: bool = False  # the reference's 200 {"message": "There was an error uploading the file"}


def now():
    return datetime.datetime.utcnow().isoformat(timespec="microseconds")


def validation(loc, msg, typ):
    return {"loc": loc, "msg": msg, "type": typ}


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that hung up on a slow or dropped answer is what the test wanted


class FaultServer:
    def __init__(self, certfile=None, keyfile=None):
        self.workflows = {}
        self.next_id = 1
        self.results = {}  # (record, name) -> bytes
        self.requests = []
        self.faults = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one(self, method):
                parsed = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(method, parsed.path, parsed.query, {k.lower(): v for k, v in self.headers.items()}, body)
                with outer.lock:
                    outer.requests.append(req)
                    fault = outer.take_fault(method, parsed.path)
                if fault and fault.delay:
                    time.sleep(fault.delay)
                if fault and fault.status:
                    payload = fault.body if isinstance(fault.body, bytes) else json.dumps(
                        fault.body if fault.body is not None else {"detail": "injected"}).encode()
                    return self.answer(fault.status, payload, "application/json", fault.headers)
                if fault and fault.upload_error:
                    return self.answer(200, json.dumps({"message": "There was an error uploading the file"}).encode())
                status, payload, ctype, headers = outer.route(method, parsed.path, req)
                if status == "drop":
                    return self.drop()
                if fault and fault.drop_after >= 0:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload[:fault.drop_after])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.answer(status, payload, ctype, headers)

            def answer(self, status, payload, ctype="application/json", headers=None):
                self.send_response(status)
                if status != 204:
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if status != 204:
                    self.wfile.write(payload)

            def drop(self):
                # The reference's missing image: a 200 whose streamed body never comes.
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

            def do_GET(self):
                self.handle_one("GET")

            def do_POST(self):
                self.handle_one("POST")

            def do_PUT(self):
                self.handle_one("PUT")

            def do_DELETE(self):
                self.handle_one("DELETE")

            def do_HEAD(self):
                self.handle_one("HEAD")

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        scheme = "http"
        if certfile:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(certfile, keyfile)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.port = self.httpd.server_address[1]
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def fault(self, method, path, **kw):
        with self.lock:
            self.faults.append(Fault(method, path, **kw))

    def take_fault(self, method, path):
        for f in self.faults:
            if f.method == method and f.path == path and f.times > 0:
                f.times -= 1
                return f
        return None

    def seen(self):
        """(method, path) of every request received, in order."""
        return [(r.method, r.path) for r in self.requests]

    # --- the reference's routes ---------------------------------------------------------------

    def route(self, method, path, req):
        if not path.startswith(PREFIX):
            return self.error(404, "Not Found")
        p = path[len(PREFIX):]
        if p == "/" and method == "POST":
            return self.create(req.body)
        if p == "/" and method == "GET":
            return self.ok([self.workflows[i] for i in sorted(self.workflows)])
        if p == "/meta/" and method == "GET":
            return self.ok([{k: v for k, v in self.workflows[i].items() if k != "definition"} for i in sorted(self.workflows)])
        if p == "/health/readiness" and method == "GET":
            return self.ok({"status": "ok"})
        m = re.fullmatch(r"/upload/([^/]+)/", p)
        if m and method == "POST":
            return self.upload(m.group(1), req)
        m = re.fullmatch(r"/(download|image)/([^/]+)/", p)
        if m and method == "GET":
            if not m.group(2).isdigit():
                return self.invalid([validation(["path", "record_id"], "value is not a valid integer", "type_error.integer")])
            record = int(m.group(2))
            data = self.results.get((record, f"record-{record}.dcm"))
            if data is None:
                if m.group(1) == "image":
                    return "drop", b"", "", {}
                return 500, b"Internal Server Error", "text/plain; charset=utf-8", {}
            ctype = "application/octet-stream" if m.group(1) == "download" else "text/html; charset=utf-8"
            return 200, data, ctype, {"Content-Disposition": f'attachment; filename="record-{record}.dcm"'}
        m = re.fullmatch(r"/([^/]+)(/?)", p)
        if m:
            slash = m.group(2) == "/"
            if not m.group(1).isdigit():
                return self.invalid([validation(["path", "workflow_id"], "value is not a valid integer", "type_error.integer")])
            wid = int(m.group(1))
            if method == "GET" and not slash:
                return self.ok(self.workflows[wid]) if wid in self.workflows else self.error(404, "Workflow not found")
            if method == "DELETE" and not slash:
                if wid not in self.workflows:
                    return self.error(404, "Workflow not found")
                del self.workflows[wid]
                return 204, b"", "", {}
            if method == "PUT" and slash:
                return self.update(wid, req.body)
            if method == "PUT" or (method == "POST" and not slash):
                return 307, b"", "application/json", {"Location": f"http://testserver{path}{'' if slash else '/'}"}
            return self.error(405, "Method Not Allowed")
        return self.error(404, "Not Found")

    def ok(self, value, status=200):
        return status, json.dumps(value).encode(), "application/json", {}

    def error(self, status, detail):
        return status, json.dumps({"detail": detail}).encode(), "application/json", {}

    def invalid(self, items):
        return 422, json.dumps({"detail": items}).encode(), "application/json", {}

    def check_base(self, body, with_definition):
        try:
            doc = json.loads(body) if body else None
        except ValueError:
            return None, [validation(["body", 0], "Expecting value: line 1 column 1 (char 0)", "value_error.jsondecode")]
        if doc is None:
            return None, [validation(["body"], "field required", "value_error.missing")]
        if not isinstance(doc, dict):
            return None, [validation(["body"], "value is not a valid dict", "type_error.dict")]
        items = []
        for key in ("name", "version"):
            if key not in doc:
                items.append(validation(["body", key], "field required", "value_error.missing"))
        if with_definition:
            if "definition" not in doc:
                items.append(validation(["body", "definition"], "field required", "value_error.missing"))
            elif doc["definition"] is None:
                items.append(validation(["body", "definition"], "none is not an allowed value", "type_error.none.not_allowed"))
            elif not isinstance(doc["definition"], dict):
                items.append(validation(["body", "definition"], "value is not a valid dict", "type_error.dict"))
        return doc, items

    def create(self, body):
        doc, items = self.check_base(body, True)
        if items:
            return self.invalid(items)
        if doc.get("author") is None:  # the reference's defect: the insert fails
            return 500, b"Internal Server Error", "text/plain; charset=utf-8", {}
        with self.lock:
            wid = self.next_id
            self.next_id += 1
            self.workflows[wid] = {"name": doc["name"], "description": doc.get("description"),
                                   "version": str(doc["version"]), "author": doc["author"], "id": wid,
                                   "datetime_created": now(), "datetime_updated": None,
                                   "definition": doc["definition"]}
        return self.ok(self.workflows[wid], 201)

    def update(self, wid, body):
        doc, items = self.check_base(body, False)
        if items:
            return self.invalid(items)
        if wid not in self.workflows:
            return self.error(404, "Workflow not found")
        w = self.workflows[wid]
        w.update({"name": doc["name"], "description": doc.get("description"), "version": str(doc["version"]),
                  "author": doc.get("author"), "datetime_updated": now()})
        return self.ok(w)

    def upload(self, record, req):
        if not record.isdigit():
            return self.invalid([validation(["path", "record_id"], "value is not a valid integer", "type_error.integer")])
        ctype = req.headers.get("content-type", "")
        m = re.search(r"boundary=(.+)", ctype)
        if not m:
            return self.invalid([validation(["body", "file"], "field required", "value_error.missing")])
        boundary = b"--" + m.group(1).strip('"').encode()
        for part in req.body.split(boundary):
            head, sep, data = part.partition(b"\r\n\r\n")
            if not sep or b'name="file"' not in head:
                continue
            fm = re.search(rb'filename="([^"]*)"', head)
            if not fm:
                continue
            name = urllib.parse.unquote(fm.group(1).decode())
            self.results[(int(record), name)] = data[:-2] if data.endswith(b"\r\n") else data
            return self.ok({"message": f"Successfully uploaded {name}"})
        return self.invalid([validation(["body", "file"], "field required", "value_error.missing")])
