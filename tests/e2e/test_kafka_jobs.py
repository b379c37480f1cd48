"""End-to-end: jobs over the kafka transport, against the librdkafka mock cluster in its own
process (tests/kafka/mock_cluster.cpp) and checked with Debian's kcat as the independent client."""
import hashlib
import json
import os
import select
import signal
import subprocess
import time
import unittest

from harness import PYDICOM_FILES, WFCTL, WfctlTestCase

BUILD_DIR = os.environ.get("WFCTL_BUILD_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(WFCTL))))
MOCK = os.path.join(BUILD_DIR, "tests", "wfctl_kafka_mock")
MR = os.path.join(PYDICOM_FILES, "MR_small.dcm")
TOPIC = "mri_cartesian_reco"
# The reference's message, as ScanHub's Python producer prints it.
REF = json.dumps({"record_id": 7, "input": "records/7/kspace.npy"})
COPY_HANDLER = f"{TOPIC}=cp {MR} {{output}}"


def read_line(pipe, timeout):
    """One line of a text pipe, or None after `timeout` seconds."""
    ready, _, _ = select.select([pipe], [], [], timeout)
    return pipe.readline() if ready else None


class KafkaTestCase(WfctlTestCase):
    """Each test gets a mock cluster of one broker with the job topic in two partitions."""

    def setUp(self):
        super().setUp()
        self.assertTrue(os.path.exists(MOCK), f"{MOCK} is not built")
        self.mock = subprocess.Popen([MOCK, "--topic", TOPIC, "--partitions", "2",
                                      "--topic", "site1." + TOPIC, "--partitions", "1"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(self.stop_mock)
        line = read_line(self.mock.stdout, 15)
        self.assertTrue(line and line.strip(), "the mock cluster printed no address")
        self.brokers = line.strip()
        self.kafka = ["--transport", "kafka", "--kafka-brokers", self.brokers]
        # librdkafka's mock coordinator lets a new member into a group only once the session of
        # the one that left timed out: a short session keeps restarts to a few seconds.
        self.session = self.write("session.properties", "session.timeout.ms=6000\nheartbeat.interval.ms=500\n")

    def stop_mock(self):
        self.mock.stdin.close()  # EOF: the mock exits
        try:
            self.mock.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.mock.kill()
            self.mock.wait()
        self.mock.stdout.close()

    def mock_command(self, command):
        self.mock.stdin.write(command + "\n")
        self.mock.stdin.flush()
        self.assertEqual(read_line(self.mock.stdout, 15), "ok\n")

    def kcat_read(self, topic=TOPIC):
        """Every message of the topic as kcat -J prints it (key, payload, partition, offset)."""
        r = subprocess.run(["kcat", "-b", self.brokers, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-J"],
                           capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [json.loads(line) for line in r.stdout.decode().splitlines()]

    def kcat_write(self, lines, topic=TOPIC, partition=None):
        """Each line as one message without a key, acknowledged by the broker (into one
        partition when given: keyless messages of one batch stick to one partition)."""
        where = ["-p", str(partition)] if partition is not None else []
        r = subprocess.run(["kcat", "-b", self.brokers, "-P", "-t", topic, "-X", "acks=all", *where],
                           input="".join(line + "\n" for line in lines).encode(), capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def put_input(self, record=7, name="kspace.npy", data=b"\x93NUMPY k-space"):
        self.ok("result", "upload", str(record), self.write("in.bin", data), "--name", name, "--no-job")

    def job(self, job_id):
        return self.ok("job", "get", str(job_id), "-o", "json").json()

    def jobs(self):
        return self.ok("job", "list", "-o", "json").json()

    def assert_one_message(self, payload, topic=TOPIC):
        got = self.kcat_read(topic)
        self.assertEqual([(m["key"], m["payload"]) for m in got], [(None, payload)], got)

    def timed_fail(self, code, *args, limit=15, **kw):
        start = time.monotonic()
        r = self.fails(code, *args, **kw)
        self.assertLess(time.monotonic() - start, limit, r)
        return r


class PublishTest(KafkaTestCase):
    def test_submit_publishes_the_reference_value_without_key(self):
        self.put_input()
        r = self.ok("job", "submit", "7", "--input", "records/7/kspace.npy", "-o", "json", *self.kafka)
        job = r.json()[0] if isinstance(r.json(), list) else r.json()
        self.assertEqual((job["id"], job["status"], job["delivery"], job["topic"]),
                         (1, "queued", "delivered", TOPIC))
        self.assertEqual(self.job(1)["delivery"], "delivered")
        self.assertEqual(REF, '{"record_id": 7, "input": "records/7/kspace.npy"}')
        self.assert_one_message(REF)
        # The same bytes through kcat's own formatter: an empty key, then the value.
        f = subprocess.run(["kcat", "-b", self.brokers, "-C", "-t", TOPIC, "-o", "beginning", "-e", "-q",
                            "-f", "%k|%s\n"], capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual((f.returncode, f.stdout), (0, ("|" + REF + "\n").encode()), f)

    def test_input_name_alone_and_json_escapes_as_python_prints_them(self):
        name = "k space \u00e9.npy"
        self.put_input(name=name)
        self.ok("job", "submit", "7", "--input", name, *self.kafka)
        self.assert_one_message(json.dumps({"record_id": 7, "input": "records/7/" + name}))

    def test_upload_publishes_its_job(self):
        src = self.write("k.npy", b"kspace bytes")
        r = self.ok("result", "upload", "7", src, "--name", "kspace.npy", "-o", "json", *self.kafka)
        job = r.json()["job"]
        # (The upload prints its job as it was committed with the file, before the publish.)
        self.assertEqual((job["id"], job["input"]), (1, "records/7/kspace.npy"))
        self.assertEqual(self.job(1)["delivery"], "delivered")
        self.assert_one_message(REF)

    def test_topic_prefix_from_flag_env_and_context(self):
        self.put_input()
        self.ok("job", "submit", "7", "--input", "kspace.npy", *self.kafka, "--kafka-topic-prefix", "site1.")
        self.assert_one_message(REF, "site1." + TOPIC)
        self.assertEqual(self.kcat_read(TOPIC), [])  # nothing went to the unprefixed topic
        # The environment, and then a context of the config file, choose the same.
        env = {"WFCTL_TRANSPORT": "kafka", "WFCTL_KAFKA_BROKERS": self.brokers}
        self.ok("job", "submit", "7", "--input", "kspace.npy", env=env)
        self.assert_one_message(REF, TOPIC)
        self.ok("job", "submit", "7", "--input", "kspace.npy",
                env=dict(env, WFCTL_KAFKA_TOPIC_PREFIX="site1."))
        self.assertEqual([m["payload"] for m in self.kcat_read("site1." + TOPIC)], [REF, REF])
        config = os.path.join(self.tmp, "config", "wfctl")
        os.makedirs(config)
        with open(os.path.join(config, "config.yaml"), "w") as f:
            f.write(f"current-context: site\ncontexts:\n  site:\n    transport: kafka\n"
                    f"    kafka-brokers: {self.brokers}\n    kafka-topic-prefix: site1.\n")
        self.ok("job", "submit", "7", "--input", "kspace.npy")
        self.assertEqual([m["payload"] for m in self.kcat_read("site1." + TOPIC)], [REF, REF, REF])
        self.assertEqual([j["delivery"] for j in self.jobs()], ["delivered"] * 4)

    def test_local_transport_publishes_nothing(self):
        self.put_input()
        job = self.ok("job", "submit", "7", "--input", "kspace.npy", "-o", "json").json()
        job = job[0] if isinstance(job, list) else job
        self.assertEqual(job["delivery"], "local")
        self.assertEqual(self.kcat_read(), [])


class UnreachableTest(KafkaTestCase):
    def test_unreachable_broker_exits_6_and_retry_sends_it(self):
        self.put_input()
        r = self.timed_fail(6, "job", "submit", "7", "--input", "kspace.npy", "--transport", "kafka",
                            "--kafka-brokers", "127.0.0.1:1", "--kafka-timeout", "1s")
        self.assertIn("job 1 was recorded but not delivered", r.errtext.splitlines()[0])
        self.assertEqual(r.errtext.splitlines()[1:], ["hint: wfctl job retry 1 sends it again"])
        job = self.job(1)
        self.assertEqual((job["status"], job["delivery"]), ("queued", "failed"))
        self.assertTrue(job["message"].startswith("not delivered: "), job)
        self.assertEqual(self.kcat_read(), [])
        # Retrying needs a transport that can deliver: the failed delivery is sent again.
        self.ok("job", "retry", "1", *self.kafka)
        job = self.job(1)
        self.assertEqual((job["status"], job["delivery"]), ("queued", "delivered"))
        self.assert_one_message(REF)
        # Delivered once: retrying again is a conflict, and sends nothing.
        self.fails(5, "job", "retry", "1", *self.kafka)
        self.assert_one_message(REF)

    def test_broker_down_exits_6_and_up_again_delivers(self):
        self.put_input()
        self.ok("job", "submit", "7", "--input", "kspace.npy", *self.kafka)
        self.mock_command("down")
        self.timed_fail(6, "job", "submit", "7", "--input", "kspace.npy", *self.kafka, "--kafka-timeout", "2s")
        self.assertEqual([(j["id"], j["delivery"]) for j in self.jobs()], [(1, "delivered"), (2, "failed")])
        self.mock_command("up")
        self.ok("job", "retry", "2", *self.kafka, "--kafka-timeout", "20s")
        self.assertEqual(self.job(2)["delivery"], "delivered")
        self.assertEqual([m["payload"] for m in self.kcat_read()], [REF, REF])

    def test_upload_with_broker_down_keeps_the_file_and_its_undelivered_job(self):
        data = b"kspace bytes"
        src = self.write("k.npy", data)
        self.mock_command("down")
        start = time.monotonic()
        r = self.run_wfctl("result", "upload", "7", src, "--name", "kspace.npy", *self.kafka, "--kafka-timeout", "1s")
        self.assertLess(time.monotonic() - start, 15, r)
        self.assertEqual(r.code, 6, r)
        # What was stored is data, and was printed before the publish; the failure is one line.
        self.assertEqual(r.text, f"records/7/kspace.npy uploaded: 12 bytes, sha256 {hashlib.sha256(data).hexdigest()}\n"
                                 "job/1 submitted (mri_cartesian_reco)\n")
        lines = r.errtext.splitlines()
        self.assertEqual(len(lines), 2, r)
        self.assertTrue(lines[0].startswith("wfctl: error: records/7/kspace.npy was stored, but job 1 was recorded "
                                            "but not delivered: "), r)
        self.assertEqual(lines[1], "hint: wfctl job retry 1 sends it again")
        self.assertEqual(self.ok("result", "download", "7", "--file", "kspace.npy").out, data)
        job = self.job(1)
        self.assertEqual((job["input"], job["status"], job["delivery"]), ("records/7/kspace.npy", "queued", "failed"))
        self.mock_command("up")
        self.ok("job", "retry", "1", *self.kafka, "--kafka-timeout", "20s")
        self.assertEqual(self.job(1)["delivery"], "delivered")
        self.assert_one_message(REF)


class WorkerTest(KafkaTestCase):
    def worker(self, *args, timeout=90, **kw):
        return self.run_wfctl("worker", "--transport", "kafka", "--kafka-brokers", self.brokers, *args,
                              timeout=timeout, **kw)

    def test_worker_runs_what_kcat_produced_and_skips_what_is_no_job(self):
        self.put_input()
        self.kcat_write(["garbage", '{"record_id": "x"}', REF,
                         '{"record_id": 8, "input": "records/7/kspace.npy"}', "{}"])
        r = self.worker("--once", "--handler", COPY_HANDLER, "--kafka-config", self.session)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.out, b"", r)
        skipped = [line for line in r.errtext.splitlines() if "skipping" in line]
        self.assertEqual(len(skipped), 4, r.errtext)
        self.assertTrue(any("garbage" in line for line in skipped), r.errtext)
        self.assertIn("4 messages skipped", r.errtext)
        [job] = self.jobs()
        self.assertEqual((job["id"], job["record_id"], job["input"], job["status"], job["attempts"], job["delivery"]),
                         (1, 7, "records/7/kspace.npy", "succeeded", 1, "delivered"))
        with open(MR, "rb") as f:
            self.assertEqual(self.ok("result", "download", "7").out, f.read())
        # Another group reads the topic from its start: the store knows the message's job, so
        # it is not run a second time.
        r = self.worker("--once", "--handler", COPY_HANDLER, "--kafka-group", "other")
        self.assertEqual((r.code, r.out), (0, b""), r)
        self.assertIn("was handled already: skipped", r.errtext)
        self.assertEqual([(j["id"], j["status"]) for j in self.jobs()], [(1, "succeeded")])
        # A new message of the same input is new work: a second job.
        self.kcat_write([REF])
        r = self.worker("--once", "--handler", COPY_HANDLER, "--kafka-config", self.session)
        self.assertEqual((r.code, r.out), (0, b""), r)
        self.assertNotIn("skipping", r.errtext)
        self.assertNotIn("handled already", r.errtext)  # the default group committed its offsets
        self.assertEqual([(j["id"], j["status"]) for j in self.jobs()], [(1, "succeeded"), (2, "succeeded")])

    def test_worker_runs_a_submitted_job_once(self):
        self.put_input()
        self.ok("job", "submit", "7", "--input", "kspace.npy", *self.kafka)
        r = self.worker("--once", "--handler", COPY_HANDLER)
        self.assertEqual((r.code, r.out), (0, b""), r)
        [job] = self.jobs()
        self.assertEqual((job["id"], job["status"], job["attempts"], job["delivery"]),
                         (1, "succeeded", 1, "delivered"))

    # The second worker takes job 1 from the store (its lease expired); the redelivered
    # message names job 1, which runs, so it is handled and no second job is recorded.
    def test_a_killed_workers_message_runs_the_same_job_again(self):
        self.put_input()
        self.ok("job", "submit", "7", "--input", "kspace.npy", *self.kafka)
        pidfile = os.path.join(self.tmp, "handler.pid")
        hang = f"{TOPIC}=sh -c 'echo $$ > {pidfile}; exec sleep 60'"
        log = open(os.path.join(self.tmp, "worker1.log"), "wb")
        self.addCleanup(log.close)
        first = subprocess.Popen([WFCTL, "worker", *self.kafka, "--kafka-config", self.session, "--lease", "1s",
                                  "--handler", hang], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 env=self.env, cwd=self.tmp)
        handler = None
        try:
            deadline = time.monotonic() + 45
            while time.monotonic() < deadline:
                jobs = self.jobs()
                if jobs[0]["status"] == "running" and os.path.exists(pidfile):
                    with open(pidfile) as f:
                        text = f.read().strip()
                    if text:
                        handler = int(text)
                        break
                self.assertIsNone(first.poll(), "the first worker exited")
                time.sleep(0.2)
            self.assertIsNotNone(handler, "the job never ran")
            self.assertEqual(self.job(1)["attempts"], 1)
        finally:
            first.kill()  # SIGKILL: no goodbye to the group, no commit, no release
            first.wait(timeout=15)
            if handler:
                try:
                    os.killpg(os.getpgid(handler), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        time.sleep(2)  # past the lease
        r = self.worker("--once", "--handler", COPY_HANDLER, "--kafka-config", self.session)
        self.assertEqual((r.code, r.out), (0, b""), r)
        jobs = self.jobs()
        self.assertEqual([(j["id"], j["status"], j["attempts"]) for j in jobs], [(1, "succeeded", 2)], r.errtext)

    # When the second worker joins, a partition may move while a job of one of its messages
    # runs on the first worker; the new owner gets the message again, finds its job running
    # and skips it: every record runs once.
    def test_two_workers_in_one_group_share_the_partitions(self):
        for i in range(1, 21):
            self.put_input(record=i)
        for part, records in ((0, range(1, 11)), (1, range(11, 21))):
            self.kcat_write([json.dumps({"record_id": i, "input": f"records/{i}/kspace.npy"}) for i in records],
                            partition=part)
        self.assertEqual(sorted({m["partition"] for m in self.kcat_read()}), [0, 1])
        slow = f"{TOPIC}=sh -c 'sleep 0.3; cp {MR} \"$1\"' sh {{output}}"
        procs = [subprocess.Popen([WFCTL, "worker", *self.kafka, "--kafka-config", self.session, "--once",
                                   "--identity", name, "--handler", slow], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env, cwd=self.tmp)
                 for name in ("w1", "w2")]
        outs = [p.communicate(timeout=90) for p in procs]
        for p, (out, err) in zip(procs, outs):
            self.assertEqual((p.returncode, out), (0, b""), err)
        jobs = self.jobs()
        self.assertEqual(sorted(j["record_id"] for j in jobs), list(range(1, 21)), jobs)
        self.assertEqual({(j["status"], j["attempts"]) for j in jobs}, {("succeeded", 1)}, jobs)
        self.assertEqual({j["worker"].split("/")[0] for j in jobs}, {"w1", "w2"}, jobs)


if __name__ == "__main__":
    unittest.main()
