"""End-to-end: `wfctl serve` under many clients at once, and SIGTERM while uploads are in
flight: every upload that got its 200 is intact, every other one absent, no staging file left."""
import hashlib
import json
import os
import socket
import struct
import threading
import time

from serve_harness import PREFIX, ServeTest, multipart
from test_serve_files import lake_files


class LoadTest(ServeTest):
    def test_sixteen_clients_mixing_reads_writes_and_uploads(self):
        self.create(name="seed")
        errors = []
        uploaded = {}

        def client(n):
            try:
                for i in range(50):
                    kind = (n + i) % 4
                    if kind == 0:
                        status, _, data = self.s.request("GET", "/1")
                        assert status == 200 and json.loads(data)["name"] == "seed", (status, data)
                    elif kind == 1:
                        status, _, data = self.s.request("POST", "/", {"name": f"w{n}-{i}", "version": "1", "definition": {"n": n}})
                        assert status == 201 and json.loads(data)["name"] == f"w{n}-{i}", (status, data)
                    elif kind == 2:
                        content = os.urandom(1000 + n * 100 + i)
                        body, ctype = multipart(f"f{i}.npy", content)
                        status, _, data = self.s.request("POST", f"/upload/{100 + n}/?job=false", body, {"Content-Type": ctype})
                        assert status == 200, (status, data)
                        uploaded[(100 + n, f"f{i}.npy")] = content
                    else:
                        status, _, data = self.s.request("GET", "/meta/?limit=5")
                        assert status == 200 and len(json.loads(data)) <= 5, (status, data)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        self.assertEqual(errors, [])
        self.assertEqual(len(json.loads(self.s.request("GET", "/meta/")[2])), 1 + 16 * 50 // 4)
        for (record, name), content in uploaded.items():
            with open(os.path.join(self.store, "records", str(record), name), "rb") as f:
                self.assertEqual(f.read(), content, (record, name))
        self.assertEqual(len(uploaded), 16 * 50 // 4)

    def test_waiting_handlers_and_stalled_clients_do_not_hold_up_a_get(self):
        """The connections share one I/O thread per core. A handler that waits (a job wait), an
        upload whose client stalls mid-body and a download whose client reads nothing are each
        set aside, more of each than there are I/O threads: a GET by id is still answered at once,
        and so are they once unblocked."""
        s = self.start("--threads", "64")  # the slots are not what is tested here
        self.s.stop()
        self.s = s
        self.create(name="seed")
        body, ctype = multipart("k.npy", b"k")
        self.assertEqual(s.request("POST", "/upload/7/?job=false", body, {"Content-Type": ctype})[0], 200)
        big = os.urandom(32 << 20)
        body, ctype = multipart("big.npy", big)
        self.assertEqual(s.request("POST", "/upload/8/?job=false", body, {"Content-Type": ctype})[0], 200)
        status, _, data = s.request("POST", "/jobs/", {"record_id": 7, "input": "records/7/k.npy"})
        self.assertEqual(status, 201, data)
        job = json.loads(data)["id"]
        n = 2 * (os.cpu_count() or 2) + 2
        socks = []

        def connect(head, extra=b""):
            sock = socket.create_connection(("127.0.0.1", s.port), timeout=20)
            sock.sendall(head.encode() + extra)
            socks.append(sock)
            return sock

        waits = [connect(f"GET {PREFIX}/jobs/{job}/wait?timeout=4 HTTP/1.1\r\nHost: x\r\n\r\n") for _ in range(n)]
        upload_body, upload_type = multipart("stalled.npy", os.urandom(1 << 20))
        uploads = [connect(f"POST {PREFIX}/upload/{20 + i}/?job=false HTTP/1.1\r\nHost: x\r\n"
                           f"Content-Type: {upload_type}\r\nContent-Length: {len(upload_body)}\r\n\r\n",
                           upload_body[:16384]) for i in range(n)]
        downloads = []
        for _ in range(n):
            # More than the socket buffers hold: the server's writes stall until it is read.
            downloads.append(connect(f"GET {PREFIX}/results/8/big.npy HTTP/1.1\r\nHost: x\r\n\r\n"))
        time.sleep(0.5)
        try:
            for _ in range(5):
                t0 = time.monotonic()
                status, _, data = s.request("GET", "/1", timeout=10)
                elapsed = time.monotonic() - t0
                self.assertEqual((status, json.loads(data)["name"]), (200, "seed"))
                self.assertLess(elapsed, 2.0, s.log[-5:])  # the waits last 4 s
            # Unblocked, each finishes: the uploads' rest comes, the downloads are read.
            for sock in uploads:
                sock.sendall(upload_body[16384:])
            for sock in uploads:
                self.assertTrue(read_answer(sock).startswith(b"HTTP/1.1 200 "))
            for sock in downloads:
                answer = read_answer(sock, until_bytes=len(big))
                self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer[:100])
                self.assertEqual(answer[-len(big):], big)
            for sock in waits:
                answer = read_answer(sock)
                self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer[:100])
                self.assertIn(b'"status":"queued"', answer)
        finally:
            for sock in socks:
                sock.close()
        self.assertEqual(s.stop(), 0, s.log)
        stored = json.loads(self.ok("result", "list", "-o", "json").text)
        self.assertEqual(sum(1 for f in stored if f["name"] == "stalled.npy"), n)

    def hold_the_handler_thread(self, s, seconds):
        """A job wait that holds the one handler thread of `--threads 1` for `seconds`."""
        body, ctype = multipart("k.npy", b"k")
        self.assertEqual(s.request("POST", "/upload/1/?job=false", body, {"Content-Type": ctype})[0], 200)
        status, _, data = s.request("POST", "/jobs/", {"record_id": 1, "input": "records/1/k.npy"})
        self.assertEqual(status, 201, data)
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=20)
        sock.sendall(f"GET {PREFIX}/jobs/{json.loads(data)['id']}/wait?timeout={seconds} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        time.sleep(0.3)
        return sock

    def test_a_chunked_upload_waiting_for_its_handler_parks_once(self):
        """A chunked body of 1000-byte chunks fills the window while its handler waits for the
        thread: libmicrohttpd holds many chunks per read, and a connection suspended twice
        corrupted its lists (the stop then aborted: "called while we have suspended
        connections")."""
        s = self.start("--threads", "1")
        self.s.stop()
        wait = self.hold_the_handler_thread(s, 2)
        content = os.urandom(4 << 20)
        body, ctype = multipart("c.npy", content)
        chunks = b"".join(b"%x\r\n" % len(body[i:i + 1000]) + body[i:i + 1000] + b"\r\n"
                          for i in range(0, len(body), 1000)) + b"0\r\n\r\n"
        up = socket.create_connection(("127.0.0.1", s.port), timeout=30)
        sender = threading.Thread(target=up.sendall, args=(
            f"POST {PREFIX}/upload/2/?job=false HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
            f"Transfer-Encoding: chunked\r\n\r\n".encode() + chunks,))
        sender.start()
        self.assertTrue(read_answer(wait).startswith(b"HTTP/1.1 200 "))
        self.assertTrue(read_answer(up).startswith(b"HTTP/1.1 200 "), s.log[-3:])
        sender.join(timeout=30)
        wait.close()
        up.close()
        self.assertEqual(s.request("GET", "/results/2/c.npy")[2], content)
        self.assertEqual(s.stop(), 0, s.log[-5:])
        self.assertFalse([line for line in s.log if "libmicrohttpd" in line or "Fatal" in line], s.log[-5:])

    def test_a_multipart_upload_whose_client_resets_before_its_handler_runs(self):
        """The client resets its connection while the upload waits for the handler thread: the
        handler then parses nothing of a connection that is gone, stores nothing, and the
        server serves on."""
        s = self.start("--threads", "1")
        self.s.stop()
        wait = self.hold_the_handler_thread(s, 2)
        body, ctype = multipart("g.npy", os.urandom(100000))
        up = socket.create_connection(("127.0.0.1", s.port), timeout=30)
        up.sendall(f"POST {PREFIX}/upload/3/?job=false HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:50000])
        time.sleep(0.3)
        up.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        up.close()  # RST
        self.assertTrue(read_answer(wait).startswith(b"HTTP/1.1 200 "))
        wait.close()
        time.sleep(0.5)
        self.assertEqual(s.request("GET", "/results/3/")[0], 200)
        self.assertEqual(json.loads(s.request("GET", "/results/3/")[2]), [])
        self.assertEqual(s.stop(), 0, s.log[-5:])
        self.assertEqual(os.listdir(os.path.join(self.store, "tmp")), [])

    def test_sigterm_during_slow_uploads(self):
        s = self.start("--grace", "2s", "--threads", "8")  # every upload is being served at the stop
        self.s.stop()
        outcomes = {}
        contents = {}
        started = threading.Barrier(7)

        def slow_upload(n, pause):
            content = os.urandom(256 * 1024)
            contents[n] = content
            body, ctype = multipart(f"up{n}.npy", content)
            sock = socket.create_connection(("127.0.0.1", s.port), timeout=20)
            try:
                sock.sendall((f"POST {PREFIX}/upload/{n}/?job=false HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
                              f"Content-Length: {len(body)}\r\n\r\n").encode())
                started.wait(timeout=10)
                for i in range(0, len(body), 16384):
                    sock.sendall(body[i:i + 16384])
                    time.sleep(pause)
                answer = b""
                while b"\r\n\r\n" not in answer:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
                outcomes[n] = answer.split(b"\r\n", 1)[0]
            except OSError as e:
                outcomes[n] = repr(e).encode()
            finally:
                sock.close()

        # Three finish within the grace period (17 chunks x 20 ms), three are still sending at
        # its end (17 x 400 ms) and are cancelled.
        threads = [threading.Thread(target=slow_upload, args=(n, 0.02 if n <= 3 else 0.4)) for n in range(1, 7)]
        for t in threads:
            t.start()
        started.wait(timeout=10)
        time.sleep(0.1)
        t0 = time.time()
        code = s.stop()
        elapsed = time.time() - t0
        for t in threads:
            t.join(timeout=30)
        self.assertEqual(code, 0, s.log)
        self.assertLess(elapsed, 2 + 3, s.log)  # the grace, plus one chunk's wait
        ok = [n for n, line in outcomes.items() if line.startswith(b"HTTP/1.1 200 ")]
        self.assertEqual(sorted(ok), [1, 2, 3], (outcomes, s.log))
        for n in range(1, 7):
            path = os.path.join(self.store, "records", str(n), f"up{n}.npy")
            if n in ok:
                with open(path, "rb") as f:
                    self.assertEqual(hashlib.sha256(f.read()).hexdigest(), hashlib.sha256(contents[n]).hexdigest())
            else:
                self.assertFalse(os.path.exists(path), n)
        self.assertEqual(lake_files(self.store), {f"records/{n}/up{n}.npy" for n in ok})
        stored = json.loads(self.ok("result", "list", "-o", "json").text)
        self.assertEqual(sorted((f["record_id"], f["name"]) for f in stored), [(n, f"up{n}.npy") for n in sorted(ok)])

    def test_a_request_waiting_for_a_handler_at_the_stop_is_answered(self):
        """One handler thread (--threads 1), held by a slow upload; a delete waits for it (a read
        would be answered on its I/O thread). At SIGTERM the upload is cancelled past the grace,
        and the delete gets a 503, not a dropped connection."""
        s = self.start("--grace", "1s", "--threads", "1")
        self.s.stop()
        body, ctype = multipart("slow.npy", os.urandom(256 * 1024))
        up = socket.create_connection(("127.0.0.1", s.port), timeout=20)
        up.sendall((f"POST {PREFIX}/upload/1/?job=false HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode() + body[:16384])
        time.sleep(0.5)  # the upload's handler has the one slot
        get = socket.create_connection(("127.0.0.1", s.port), timeout=20)
        get.sendall(f"DELETE {PREFIX}/1 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        time.sleep(0.5)
        t0 = time.monotonic()
        code = s.stop()
        # The grace (1 s) and a second to send the answers, not the 30 s read timeout that
        # the stalled upload would otherwise hold the stop for.
        self.assertLess(time.monotonic() - t0, 10, s.log)
        answer = b""
        while True:
            chunk = get.recv(4096)
            if not chunk:
                break
            answer += chunk
        get.close()
        up.close()
        self.assertEqual(code, 0, s.log)
        self.assertTrue(answer.startswith(b"HTTP/1.1 503 "), (answer, s.log))
        self.assertIn(b'{"detail":"the server is shutting down"}', answer)
        self.assertFalse(os.path.exists(os.path.join(self.store, "records", "1", "slow.npy")))
        self.assertEqual(os.listdir(os.path.join(self.store, "tmp")), [])  # its staging file went


def read_answer(sock, until_bytes=0):
    """One HTTP answer from `sock`: its head and, once Content-Length is known, its body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < max(length, until_bytes):
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest
