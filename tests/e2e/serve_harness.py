"""What the `wfctl serve` suites share: a running server on 127.0.0.1 port 0 (the bound address
read from its first stderr line), raw HTTP with http.client, multipart bodies."""
import http.client
import json
import os
import re
import signal
import subprocess
import threading

from harness import WFCTL, WfctlTestCase

PREFIX = "/api/v1/workflow"
DT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


def multipart(filename, content, field="file", boundary="wfctlboundary42"):
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    body = head + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class Server:
    """A running `wfctl serve`; its stderr lines are collected in `log`."""

    def __init__(self, case, *args):
        env = dict(case.env)
        self.proc = subprocess.Popen([WFCTL, "serve", "--listen", "127.0.0.1:0", *args], env=env, cwd=case.tmp,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stderr.readline().decode()
        m = re.match(r"^wfctl serve: listening on http://127\.0\.0\.1:(\d+)/api/v1/workflow\n$", line)
        if not m:
            self.proc.kill()
            raise AssertionError(f"no listening line: {line!r} {self.proc.stderr.read()!r}")
        self.port = int(m.group(1))
        self.log = []
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line.decode())

    def request(self, method, path, body=None, headers=None, prefix=PREFIX, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        conn.request(method, prefix + path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self.reader.join(timeout=5)
        self.proc.stdout.close()
        return code


class ServeTest(WfctlTestCase):
    def start(self, *args):
        s = Server(self, *args)
        self.addCleanup(lambda: s.proc.poll() is None and (s.proc.kill(), s.proc.wait()))
        return s

    def setUp(self):
        super().setUp()
        self.s = self.start()

    def create(self, name="reco", version="1", definition=None, **extra):
        body = {"name": name, "version": version, "definition": definition or {"steps": [1]}, **extra}
        status, headers, data = self.s.request("POST", "/", body)
        self.assertEqual(status, 201, data)
        return json.loads(data)

    def assert_json(self, response, status, expected_bytes):
        self.assertEqual((response[0], response[2]), (status, expected_bytes), response)
        self.assertEqual(response[1]["content-type"], "application/json", response)
