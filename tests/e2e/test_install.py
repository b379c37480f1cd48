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
                    f"{libdir}/wfctl/wfctl-dicom.so", f"{libdir}/wfctl/wfctl-kafka.so",
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
