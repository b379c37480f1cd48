"""End-to-end: `wfctl serve` keeps its GET by id answers while the store's version stays the
same, and never answers from them once anything was committed, by any process: wfctl's own
CLI, or another program's SQLite (the sqlite3 CLI). And another program's SQLite closing its
connection leaves the running server's WAL in place."""
import json
import os
import subprocess
import threading
import time

from serve_harness import ServeTest


class CacheTest(ServeTest):
    def author(self, wid):
        status, _, data = self.s.request("GET", f"/{wid}")
        self.assertEqual(status, 200, data)
        return json.loads(data)["author"]

    def sql(self, statement):
        subprocess.run(["sqlite3", os.path.join(self.store, "wfctl.db"), statement], check=True,
                       capture_output=True, timeout=60)

    def test_an_update_by_another_process_is_seen_by_the_next_get(self):
        wid = self.create(author="first")["id"]
        other = self.create(name="other", author="kept")["id"]
        self.assertEqual(self.author(wid), "first")
        self.assertEqual(self.author(wid), "first")  # now answered from what was kept
        stop = threading.Event()
        errors = []

        def reader():  # keeps the answer warm while the updates land
            try:
                while not stop.is_set():
                    self.s.request("GET", f"/{wid}")
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=reader) for _ in range(2)]
        for t in threads:
            t.start()
        try:
            for k in range(12):
                if k % 2:
                    self.ok("update", str(wid), "--author", f"cli-{k}", "-o", "name")
                else:
                    self.sql(f"UPDATE workflows SET author = 'sql-{k}' WHERE id = {wid}")
                want = f"cli-{k}" if k % 2 else f"sql-{k}"
                self.assertEqual(self.author(wid), want, f"round {k}")
                self.assertEqual(self.author(other), "kept")
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(errors, [])
        self.ok("delete", str(wid))
        status, _, _ = self.s.request("GET", f"/{wid}")
        self.assertEqual(status, 404)
        self.assertEqual(self.author(other), "kept")

    def test_another_programs_sqlite_closing_leaves_the_servers_wal_in_place(self):
        wid = self.create(author="first")["id"]
        self.assertEqual(self.author(wid), "first")  # the server's connections are open
        self.sql(f"UPDATE workflows SET author = 'sql' WHERE id = {wid}")
        # The sqlite3 CLI deletes the -wal and -shm files when it takes itself for the last
        # connection: then the server would read, and write, files nobody else sees.
        for suffix in ("-wal", "-shm"):
            self.assertTrue(os.path.exists(os.path.join(self.store, "wfctl.db" + suffix)), suffix)
        self.assertEqual(self.author(wid), "sql")
        later = self.create(name="later")["id"]
        self.assertEqual(self.s.stop(), 0)
        self.assertEqual(self.ok("get", str(later), "-o", "name").text, f"{later}\n")
        self.assertEqual(json.loads(self.ok("get", str(wid), "-o", "json").out)["author"], "sql")

    def test_a_get_by_id_waits_for_a_locked_store_no_longer_than_the_lock_timeout(self):
        wid = self.create()["id"]
        self.assertEqual(self.s.stop(), 0)
        # Another process holds the database in exclusive locking mode: no reader gets in.
        holder = subprocess.Popen(["sqlite3", os.path.join(self.store, "wfctl.db")], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            holder.stdin.write("PRAGMA locking_mode = EXCLUSIVE;\nBEGIN EXCLUSIVE;\n"
                               "UPDATE workflows SET author = 'x';\nSELECT 'locked';\n")
            holder.stdin.flush()
            self.assertEqual(holder.stdout.readline().strip(), "exclusive")  # the pragma's answer
            self.assertEqual(holder.stdout.readline().strip(), "locked")
            self.s = self.start("--lock-timeout", "500ms")
            for _ in range(2):
                began = time.monotonic()
                status, _, data = self.s.request("GET", f"/{wid}")
                self.assertEqual(status, 503, data)
                self.assertIn(b"locked by another process", data)
                self.assertLess(time.monotonic() - began, 10)  # not SQLite's default 30 s
        finally:
            holder.stdin.write("ROLLBACK;\n.quit\n")
            holder.stdin.close()
            holder.wait(timeout=30)
            holder.stdout.close()
        self.assertIsNone(self.author(wid))
