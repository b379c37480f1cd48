"""End-to-end: result files and DICOM on the local store, with real pydicom test files."""
import glob
import hashlib
import json
import os
import shutil
import subprocess
import unittest

from harness import PYDICOM_FILES, WFCTL, WfctlTestCase, sha256_file as sha256

MR = os.path.join(PYDICOM_FILES, "MR_small.dcm")
CT = os.path.join(PYDICOM_FILES, "CT_small.dcm")


class UploadDownloadTest(WfctlTestCase):
    def test_upload_list_download_round_trip(self):
        data = os.urandom(3 * 1024 * 1024 + 17)
        src = self.write("kspace.npy", data)
        r = self.ok("result", "upload", "7", src, "-o", "json")
        rec = r.json()
        self.assertEqual(list(rec.keys()), ["record_id", "name", "size", "sha256", "datetime_stored", "job"])
        self.assertEqual((rec["record_id"], rec["name"], rec["size"]), (7, "kspace.npy", len(data)))
        self.assertEqual(rec["sha256"], hashlib.sha256(data).hexdigest())
        with open(os.path.join(self.store, "records", "7", "kspace.npy"), "rb") as f:
            self.assertEqual(f.read(), data)
        job = rec.pop("job")  # the upload's reconstruction job, recorded with the file
        self.assertEqual((job["record_id"], job["input"], job["output"], job["status"], job["topic"]),
                         (7, "records/7/kspace.npy", "records/7/record-7.dcm", "queued", "mri_cartesian_reco"))
        self.assertEqual(self.ok("job", "get", str(job["id"]), "-o", "json").json(), job)
        listed = self.ok("result", "list", "-o", "json").json()
        self.assertEqual(listed, [rec])
        self.assertEqual(self.ok("result", "list", "7", "-o", "name").text, "7/kspace.npy\n")
        self.assertEqual(self.ok("result", "list", "8", "-o", "json").text, "[]\n")
        out = self.ok("result", "download", "7", "--file", "kspace.npy")
        self.assertEqual(out.out, data)
        target = os.path.join(self.tmp, "copy.npy")
        self.ok("result", "download", "7", "--file", "kspace.npy", "-O", target)
        with open(target, "rb") as f:
            self.assertEqual(f.read(), data)

    def test_table_output_prints_size_and_sha(self):
        src = self.write("a.bin", b"abc")
        r = self.ok("result", "upload", "1", src)
        # The upload's reconstruction job is data too: its id is what a script waits for.
        self.assertEqual(r.text, "records/1/a.bin uploaded: 3 bytes, sha256 "
                                 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
                                 "job/1 submitted (mri_cartesian_reco)\n")
        r = self.ok("result", "upload", "1", src, "--name", "b.bin", "--no-job")
        self.assertEqual(r.text, "records/1/b.bin uploaded: 3 bytes, sha256 "
                                 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n")

    def test_stdin_upload_needs_name(self):
        self.fails(2, "result", "upload", "3", "-", input=b"xyz")
        self.ok("result", "upload", "3", "-", "--name", "in.bin", input=b"xyz")
        self.assertEqual(self.ok("result", "download", "3", "--file", "in.bin").out, b"xyz")

    def test_stdin_redirected_from_a_file(self):
        data = os.urandom(5 * 1024 * 1024 + 3)
        src = self.write("src.bin", data)
        with open(src, "rb") as f:
            r = subprocess.run([WFCTL, "result", "upload", "4", "-", "--name", "whole.bin", "-o", "json"], stdin=f,
                               capture_output=True, env=self.env, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["size"], len(data))
        with open(src, "rb", buffering=0) as f:
            f.read(100)  # a reader that already consumed part of the file: the rest is uploaded
            r = subprocess.run([WFCTL, "result", "upload", "4", "-", "--name", "rest.bin"], stdin=f,
                               capture_output=True, env=self.env, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.ok("result", "download", "4", "--file", "whole.bin").out, data)
        self.assertEqual(self.ok("result", "download", "4", "--file", "rest.bin").out, data[100:])

    def test_existing_file_needs_force(self):
        a = self.write("a.bin", b"old")
        b = self.write("b.bin", b"new")
        self.ok("result", "upload", "1", a, "--name", "x.bin")
        before = self.snapshot()
        self.fails(5, "result", "upload", "1", b, "--name", "x.bin")
        self.assertEqual(self.snapshot(), before)
        self.ok("result", "upload", "1", b, "--name", "x.bin", "--force")
        self.assertEqual(self.ok("result", "download", "1", "--file", "x.bin").out, b"new")

    def test_unsafe_names_write_nothing(self):
        src = self.write("a.bin", b"payload")
        self.ok("result", "upload", "1", src)  # the store exists: refusals must leave it as it is
        before = self.snapshot()
        outside = set(os.listdir(self.tmp))
        for bad in ("../x", "..", ".", "", "a/b", "/etc/passwd", "x\\y", "..\\..\\x", "a\x01b", "a\nb",
                    "x" * 256, " lead", "trail ", "a/../b"):
            self.fails(4, "result", "upload", "1", src, "--name", bad)
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(set(os.listdir(self.tmp)), outside)
        # encoded variants are literal names: stored inside records/1/ under exactly that name
        for literal in ("%2e%2e%2fx", "..%2Fx", "\uff0e\uff0e", "x" * 255):
            self.ok("result", "upload", "1", src, "--name", literal)
            self.assertTrue(os.path.isfile(os.path.join(self.store, "records", "1", literal)))
        self.assertEqual(sorted(os.listdir(os.path.join(self.store, "records"))), ["1"])

    def test_bad_record_ids(self):
        src = self.write("a.bin", b"x")
        for bad in ("0", "-3", "x", "99999999999999999999"):
            self.fails(2, "result", "upload", bad, src)
        self.fails(3, "result", "download", "5", "-O", os.path.join(self.tmp, "o"))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "o")))

    def test_download_refuses_to_overwrite_and_verifies_sha(self):
        src = self.write("a.bin", os.urandom(100000))
        self.ok("result", "upload", "2", src, "--name", "a.bin")
        target = self.write("existing", b"keep me")
        self.fails(5, "result", "download", "2", "--file", "a.bin", "-O", target)
        with open(target, "rb") as f:
            self.assertEqual(f.read(), b"keep me")
        self.ok("result", "download", "2", "--file", "a.bin", "-O", target, "--force")
        self.assertEqual(sha256(target), sha256(src))
        # corrupt the stored bytes behind the store's back, keeping size and mtime
        stored = os.path.join(self.store, "records", "2", "a.bin")
        st = os.stat(stored)
        with open(stored, "r+b") as f:
            f.seek(500)
            f.write(b"\x00\xff\x00")
        os.utime(stored, ns=(st.st_atime_ns, st.st_mtime_ns))
        fresh = os.path.join(self.tmp, "fresh")
        r = self.fails(1, "result", "download", "2", "--file", "a.bin", "-O", fresh)
        self.assertIn("checksum mismatch", r.errtext)
        self.assertFalse(os.path.exists(fresh))
        self.assertEqual([p for p in os.listdir(self.tmp) if p.startswith(".fresh")], [])

    def test_files_written_by_a_reconstruction_service_are_listed(self):
        os.makedirs(os.path.join(self.store, "records", "9"))
        shutil.copy(MR, os.path.join(self.store, "records", "9", "record-9.dcm"))
        listed = self.ok("result", "list", "9", "-o", "json").json()
        self.assertEqual(listed[0]["sha256"], sha256(MR))
        with open(MR, "rb") as f:
            self.assertEqual(self.ok("result", "download", "9").out, f.read())


def pydicom_files():
    return sorted(glob.glob(os.path.join(PYDICOM_FILES, "*.dcm")))


class DicomTest(WfctlTestCase):
    def upload(self, record, path, **kw):
        return self.run_wfctl("result", "upload", str(record), path, "--name", f"record-{record}.dcm", **kw)

    def test_every_pydicom_file_round_trips_or_is_refused_cleanly(self):
        accepted = refused = rendered = undecodable = 0
        for i, path in enumerate(pydicom_files(), start=1):
            r = self.upload(i, path)
            if r.code == 4:
                refused += 1
                self.assertFalse(os.path.exists(os.path.join(self.store, "records", str(i))), path)
                continue
            self.assertEqual(r.code, 0, (path, r))
            accepted += 1
            with open(path, "rb") as f:
                self.assertEqual(self.ok("result", "download", str(i)).out, f.read(), path)
            info = self.ok("result", "info", str(i), "-o", "json").json()
            self.assertIn("TransferSyntaxUID", info)
            png = os.path.join(self.tmp, f"{i}.png")
            p = self.run_wfctl("result", "image", str(i), "--png", png)
            if p.code == 0:
                rendered += 1
                with open(png, "rb") as f:
                    self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", path)
            else:
                self.assertEqual(p.code, 4, (path, p))
                self.assertFalse(os.path.exists(png))
                undecodable += 1
        self.assertGreater(accepted, 40)
        self.assertGreater(rendered, 25)
        self.assertGreaterEqual(refused, 2)  # the truncated files at least
        print(f"\npydicom files: {accepted} accepted, {refused} refused, {rendered} rendered, "
              f"{undecodable} not renderable")

    def test_truncated_and_non_dicom_are_refused(self):
        for name in ("MR_truncated.dcm", "rtplan_truncated.dcm"):
            r = self.fails(4, "result", "upload", "1", os.path.join(PYDICOM_FILES, name))
            self.assertIn("truncated", r.errtext)
        txt = self.write("notes.dcm", "not a dicom file\n" * 20)
        self.fails(4, "result", "upload", "1", txt)
        with open(MR, "rb") as f:
            half = self.write("half.dcm", f.read()[:5000])
        r = self.fails(4, "result", "info", half)
        self.assertIn("truncated", r.errtext)
        self.fails(4, "result", "upload", "1", half)
        self.fails(4, "result", "upload", "1", txt, "--name", "x.bin", "--dicom")
        self.ok("result", "upload", "1", txt, "--name", "notes.txt")  # opaque bytes are fine
        self.assertEqual(self.ok("result", "list", "-o", "name").text, "1/notes.txt\n")

    def test_info_table_json_and_all(self):
        self.assertEqual(self.upload(1, MR).code, 0)
        info = self.ok("result", "info", "1", "-o", "json").json()
        self.assertEqual(info["Modality"], "MR")
        self.assertEqual((info["Rows"], info["Columns"]), (64, 64))
        self.assertEqual(self.ok("result", "info", MR, "-o", "json").json(), info)
        self.assertEqual(self.ok("result", "info", "1", "-o", "name").text, info["SOPInstanceUID"] + "\n")
        table = self.ok("result", "info", "1").text
        self.assertIn("SOPInstanceUID", table)
        full = self.ok("result", "info", "1", "--all", "-o", "json").json()
        self.assertEqual(full["00080060"], {"vr": "CS", "Value": ["MR"]})
        self.fails(2, "result", "info", "1", "--all")
        self.fails(3, "result", "info", "2")
        self.fails(3, "result", "info", os.path.join(self.tmp, "missing.dcm"))

    def test_image_stream_preview_frames_and_window(self):
        self.assertEqual(self.upload(1, MR).code, 0)
        with open(MR, "rb") as f:
            self.assertEqual(self.ok("result", "image", "1").out, f.read())
        png = self.ok("result", "image", "1", "--png", "-", "--window", "600,1200").out
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        self.fails(2, "result", "image", "1", "--png", "-", "--window", "600")
        self.fails(4, "result", "image", "1", "--png", "-", "--frame", "3")
        multi = os.path.join(PYDICOM_FILES, "SC_rgb_rle_2frame.dcm")
        self.assertEqual(self.upload(2, multi).code, 0)
        self.ok("result", "image", "2", "--png", os.path.join(self.tmp, "f1.png"), "--frame", "1")
        self.fails(4, "result", "image", "2", "--png", os.path.join(self.tmp, "f2.png"), "--frame", "2")
        # JPEG 2000 (decoded by OpenJPEG in the DICOM module): lossy renders, and lossless gives
        # the very PNG of its uncompressed twin (PNG bytes carry no timestamp).
        j2k = os.path.join(PYDICOM_FILES, "JPEG2000.dcm")
        self.assertEqual(self.upload(3, j2k).code, 0)
        j_png = os.path.join(self.tmp, "j.png")
        self.ok("result", "image", "3", "--png", j_png)
        with open(j_png, "rb") as f:
            head = f.read(24)
        self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual((int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")), (256, 1024))
        lossless = os.path.join(PYDICOM_FILES, "MR_small_jp2klossless.dcm")
        self.assertEqual(self.upload(4, lossless).code, 0)
        self.assertEqual(self.ok("result", "image", "4", "--png", "-").out,
                         self.ok("result", "image", "1", "--png", "-").out)
        self.fails(4, "result", "image", "4", "--png", "-", "--frame", "1")
        self.assertEqual(self.ok("result", "info", "4", "-o", "json").json()["TransferSyntaxUID"],
                         "1.2.840.10008.1.2.4.90")
        self.fails(3, "result", "image", "9", "--png", os.path.join(self.tmp, "n.png"))

    def test_export_and_anonymize(self):
        self.assertEqual(self.upload(1, MR).code, 0)
        self.assertEqual(self.upload(2, CT).code, 0)
        before = self.snapshot()
        out = os.path.join(self.tmp, "export")
        written = self.ok("result", "export", "1", "2", "--to", out, "-o", "json").json()
        self.assertEqual(len(written), 2)
        info = self.ok("result", "info", "1", "-o", "json").json()
        expected = os.path.join(out, info["PatientID"] or "unknown", info["StudyInstanceUID"],
                                info["SeriesInstanceUID"], info["SOPInstanceUID"] + ".dcm")
        self.assertEqual(written[0], {"source": "records/1/record-1.dcm", "target": expected})
        self.assertEqual(sha256(expected), sha256(MR))
        anon_dir = os.path.join(self.tmp, "anon")
        anon = self.ok("result", "export", "1", "--to", anon_dir, "--anonymize", "-o", "json").json()
        a = self.ok("result", "info", anon[0]["target"], "-o", "json").json()
        self.assertNotEqual(a["PatientName"], info["PatientName"])
        self.assertNotEqual(a["StudyInstanceUID"], info["StudyInstanceUID"])
        self.assertNotEqual(a["SOPInstanceUID"], info["SOPInstanceUID"])
        full = self.ok("result", "info", anon[0]["target"], "--all", "-o", "json").json()
        self.assertEqual(full["00120062"]["Value"], ["YES"])
        self.assertNotIn("00100030", {k for k, v in full.items() if v.get("Value")})  # birth date emptied
        self.assertFalse([k for k in full if int(k[:4], 16) % 2 == 1], "private tags remain")
        self.assertEqual(self.snapshot(), before, "export changed the store")


class SendTest(WfctlTestCase):
    def start_storescp(self, aet="STORESCP"):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        self.received = os.path.join(self.tmp, "received")
        os.makedirs(self.received)
        proc = subprocess.Popen(["storescp", "--aetitle", aet, "--output-directory", self.received, str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        import time
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        return port

    def test_echo_and_send_to_storescp(self):
        port = self.start_storescp()
        peer = f"STORESCP@127.0.0.1:{port}"
        self.ok("result", "echo", peer)
        self.assertEqual(self.ok("result", "echo", peer, "-o", "json").json(), {"peer": peer, "ok": True})
        for i, f in enumerate((MR, CT), start=1):
            self.assertEqual(self.run_wfctl("result", "upload", str(i), f, "--name", f"record-{i}.dcm").code, 0)
        r = self.ok("result", "send", "1", "2", "--to", peer, "-o", "json").json()
        self.assertEqual([x["ok"] for x in r], [True, True])
        got = sorted(glob.glob(os.path.join(self.received, "*")))
        self.assertEqual(len(got), 2)
        for src in (MR, CT):
            sent = self.ok("result", "info", src, "--all", "-o", "json").json()
            uid = sent["00080018"]["Value"][0]
            match = [g for g in got if self.ok("result", "info", g, "-o", "json").json()["SOPInstanceUID"] == uid]
            self.assertEqual(len(match), 1)
            received = self.ok("result", "info", match[0], "--all", "-o", "json").json()
            sent.pop("FFFCFFFC", None)  # data set trailing padding carries no data
            self.assertEqual(received, sent)

    def test_unreachable_peer(self):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        self.assertEqual(self.run_wfctl("result", "upload", "1", MR, "--name", "record-1.dcm").code, 0)
        self.fails(6, "result", "echo", f"X@127.0.0.1:{port}", "--timeout", "2")
        self.fails(6, "result", "send", "1", "--to", f"X@127.0.0.1:{port}", "--timeout", "2")
        self.fails(2, "result", "send", "1", "--to", "nonsense")
        r = self.fails(2, "result", "echo", f"X@[::1]:{port}")
        self.assertIn("IPv6 addresses are not supported", r.errtext)


if __name__ == "__main__":
    unittest.main()


class InterruptTest(WfctlTestCase):
    def test_ctrl_c_during_upload_leaves_nothing(self):
        import signal
        import time
        self.ok("result", "upload", "1", "-", "--name", "seed.bin", input=b"seed")
        before = self.snapshot()
        proc = subprocess.Popen([WFCTL, "result", "upload", "1", "-", "--name",
                                 "big.bin"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=self.env, cwd=self.tmp)
        proc.stdin.write(os.urandom(3 << 20))  # some data arrives, then the writer stalls
        proc.stdin.flush()
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 130, err)
        self.assertEqual(out, b"")
        self.assertEqual(err.decode().splitlines()[0], "wfctl: error: interrupted")
        self.assertEqual(os.listdir(os.path.join(self.store, "tmp")), [])
        self.assertEqual(self.snapshot(), before)
