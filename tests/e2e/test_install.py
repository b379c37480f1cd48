"""cmake --install puts the binary, its DICOM module, the man page and the completions where
Debian expects them, and the installed binary finds its module."""
import os
import subprocess
import unittest

from harness import PYDICOM_FILES, WFCTL, WfctlTestCase


class InstallTest(WfctlTestCase):
    def test_install_layout_and_installed_binary(self):
        build_dir = os.environ.get("WFCTL_BUILD_DIR")
        if not build_dir:
            self.fail("WFCTL_BUILD_DIR is not set (ctest sets it)")
        prefix = os.path.join(self.tmp, "prefix")
        r = subprocess.run(["cmake", "--install", build_dir, "--prefix", prefix], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        libdir = subprocess.run(["cmake", "-L", "-N", build_dir], capture_output=True, text=True).stdout
        libdir = next((l.split("=", 1)[1] for l in libdir.splitlines() if l.startswith("CMAKE_INSTALL_LIBDIR")), "lib")
        for rel in ("bin/wfctl", "share/man/man1/wfctl.1", "share/bash-completion/completions/wfctl",
                    "share/zsh/vendor-completions/_wfctl", "share/fish/vendor_completions.d/wfctl.fish",
                    f"{libdir}/wfctl/wfctl-dicom.so", f"{libdir}/wfctl/wfctl-kafka.so", f"{libdir}/wfctl/wfctl-httpd.so",
                    f"{libdir}/wfctl/wfctl-curl.so",
                    "share/doc/wfctl/examples/cartesian-reco.json"):
            self.assertTrue(os.path.isfile(os.path.join(prefix, rel)), rel)
        installed = os.path.join(prefix, "bin", "wfctl")
        mr = os.path.join(PYDICOM_FILES, "MR_small.dcm")
        r = subprocess.run([installed, "result", "info", mr, "-o", "json"], capture_output=True, env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_the_installed_worker_runs_the_installed_reconstruction(self):
        build_dir = os.environ.get("WFCTL_BUILD_DIR")
        if not build_dir:
            self.fail("WFCTL_BUILD_DIR is not set (ctest sets it)")
        prefix = os.path.join(self.tmp, "prefix")
        subprocess.run(["cmake", "--install", build_dir, "--prefix", prefix], capture_output=True, check=True)
        for rel in ("bin/wfctl-cartesian", "share/man/man1/wfctl-cartesian.1"):
            self.assertTrue(os.path.isfile(os.path.join(prefix, rel)), rel)
        wfctl = os.path.join(prefix, "bin", "wfctl")
        npy = os.path.join(self.tmp, "k.npy")
        subprocess.run([os.path.join(prefix, "bin", "wfctl-cartesian"), "--phantom", "32", npy], check=True)
        env = dict(self.env, PATH="/usr/bin:/bin")  # not on PATH: found beside wfctl
        run = lambda *a: subprocess.run([wfctl, *a], capture_output=True, env=env, timeout=120)
        self.assertEqual(run("result", "upload", "3", npy, "--name", "kspace.npy").returncode, 0)
        r = run("worker", "--once")
        self.assertEqual(r.returncode, 0, r.stderr)
        # The installed binary loads its Kafka module (and links no librdkafka itself).
        libs = subprocess.run(["ldd", wfctl], capture_output=True, text=True).stdout
        self.assertNotIn("librdkafka", libs)
        r = run("job", "submit", "3", "--input", "kspace.npy", "--transport", "kafka",
                "--kafka-brokers", "127.0.0.1:1", "--kafka-timeout", "500ms")
        self.assertEqual(r.returncode, 6, r.stderr)  # the module loaded and found no broker
        self.assertIn(b"not delivered", r.stderr)
        self.assertEqual(run("result", "info", "3", "-o", "json").returncode, 0)

    def test_the_installed_binary_serves_through_its_httpd_module(self):
        build_dir = os.environ.get("WFCTL_BUILD_DIR")
        if not build_dir:
            self.fail("WFCTL_BUILD_DIR is not set (ctest sets it)")
        prefix = os.path.join(self.tmp, "prefix")
        subprocess.run(["cmake", "--install", build_dir, "--prefix", prefix], capture_output=True, check=True)
        libdir = subprocess.run(["cmake", "-L", "-N", build_dir], capture_output=True, text=True).stdout
        libdir = next((l.split("=", 1)[1] for l in libdir.splitlines() if l.startswith("CMAKE_INSTALL_LIBDIR")), "lib")
        self.assertTrue(os.path.isfile(os.path.join(prefix, libdir, "wfctl", "wfctl-httpd.so")))
        wfctl = os.path.join(prefix, "bin", "wfctl")
        # libmicrohttpd and what it brings (GnuTLS) are the module's, not the binary's.
        needed = subprocess.run(["readelf", "-d", wfctl], capture_output=True, text=True).stdout
        needed = [l for l in needed.splitlines() if "NEEDED" in l]
        for lib in ("microhttpd", "gnutls", "httplib", "libssl", "brotli", "libz.", "librdkafka"):
            self.assertFalse([l for l in needed if lib in l], (lib, needed))
        # The module beside the installed binary is the one loaded (checked in /proc below).
        env = dict(self.env, PATH="/usr/bin:/bin")
        p = subprocess.Popen([wfctl, "serve", "--listen", "127.0.0.1:0"], env=env, cwd=self.tmp,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            line = p.stderr.readline().decode()
            self.assertRegex(line, r"^wfctl serve: listening on http://127\.0\.0\.1:\d+/api/v1/workflow\n$")
            port = int(line.rsplit(":", 1)[1].split("/")[0])
            import http.client
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/api/v1/workflow/health/readiness")
            r = conn.getresponse()
            self.assertEqual((r.status, r.read()), (200, b'{"status":"ok"}'))
            conn.close()
            maps = open(f"/proc/{p.pid}/maps").read()
            self.assertIn(os.path.join(prefix, libdir, "wfctl", "wfctl-httpd.so"), maps)
        finally:
            p.terminate()
            self.assertEqual(p.wait(timeout=30), 0)
            p.stderr.close()

    def test_the_installed_binary_links_no_libcurl_and_loads_its_http_module(self):
        build_dir = os.environ.get("WFCTL_BUILD_DIR")
        if not build_dir:
            self.fail("WFCTL_BUILD_DIR is not set (ctest sets it)")
        prefix = os.path.join(self.tmp, "prefix")
        subprocess.run(["cmake", "--install", build_dir, "--prefix", prefix], capture_output=True, check=True)
        wfctl = os.path.join(prefix, "bin", "wfctl")
        needed = subprocess.run(["readelf", "-d", wfctl], capture_output=True, text=True, check=True).stdout
        self.assertIn("NEEDED", needed)
        self.assertNotIn("libcurl", needed)
        self.assertNotIn("libcurl", subprocess.run(["ldd", wfctl], capture_output=True, text=True).stdout)
        # Nothing listens on port 1: the module loaded, libcurl tried and failed to connect.
        r = subprocess.run([wfctl, "--store", "http://127.0.0.1:1", "get", "1"], capture_output=True, env=self.env)
        self.assertEqual(r.returncode, 6, r.stderr)
        self.assertIn(b"127.0.0.1", r.stderr)
        self.assertNotIn(b"not available", r.stderr)
