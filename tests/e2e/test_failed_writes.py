"""End-to-end: a write that fails leaves the store exactly as it was.

An upload is staged, then published inside the index transaction; when the index write fails
(a read-only database, a full disk, a lock held past its timeout) the publication is taken
back: a new file goes, a replaced one (--force) comes back, and the old row stays.
"""
import os
import shutil
import subprocess
import tempfile

from harness import WFCTL, WfctlTestCase, public_wfctl, store_lock


class FailedUploadTest(WfctlTestCase):
    def setUp(self):
        super().setUp()
        self.old = self.write("old.bin", b"old content\n")
        self.new = self.write("new.bin", b"new content, longer than the old one\n")

    def assert_upload_fails_and_changes_nothing(self, code, run, store=None):
        store = store or self.store
        before = self.snapshot(store)
        for args in (["--name", "data.bin", "--force"], ["--name", "other.bin"]):
            r = run(["result", "upload", "1", self.new, *args])
            self.assertEqual(r.returncode, code, (args, r))
            self.assertEqual(r.stdout, b"", args)
            self.assertEqual(self.snapshot(store), before, args)

    def test_a_read_only_database(self):
        os.chmod(self.tmp, 0o755)
        os.chmod(self.new, 0o644)
        self.ok("result", "upload", "1", self.old, "--name", "data.bin")
        if os.geteuid() == 0:
            # The lake is nobody's, the database root's: the files could be written, the index not.
            for dirpath, dirs, files in os.walk(self.store):
                for n in dirs + files:
                    shutil.chown(os.path.join(dirpath, n), "nobody", "nogroup")
            shutil.chown(self.store, "nobody", "nogroup")
            shutil.chown(os.path.join(self.store, "wfctl.db"), "root", "root")
            prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        else:
            os.chmod(os.path.join(self.store, "wfctl.db"), 0o444)
            prefix = []
        home = os.path.join(self.tmp, "home-nobody")
        os.makedirs(home)
        env = dict(self.env, HOME=home, XDG_CONFIG_HOME=home)

        def run(args):
            return subprocess.run([*prefix, public_wfctl(), "--store", self.store, *args], capture_output=True,
                                  env=env, cwd="/", stdin=subprocess.DEVNULL, timeout=60)
        self.assert_upload_fails_and_changes_nothing(8, run)

    def test_a_lock_held_past_its_timeout(self):
        self.ok("result", "upload", "1", self.old, "--name", "data.bin")

        def run(args):
            return subprocess.run([WFCTL, "--store", self.store, "--lock-timeout", "200ms", *args], capture_output=True,
                                  env=self.env, cwd=self.tmp, stdin=subprocess.DEVNULL, timeout=60)
        with store_lock(os.path.join(self.store, "wfctl.db")):
            self.assert_upload_fails_and_changes_nothing(6, run)

    def test_a_full_disk(self):
        # A 1 MiB tmpfs of its own (a mount namespace, so no root is needed outside it), filled
        # so that the staged copy still fits but the index's write-ahead log does not.
        script = r'''
set -e
mnt=$1 wfctl=$2 old=$3 new=$4
mount -t tmpfs -o size=1m tmpfs "$mnt"
store=$mnt/store
"$wfctl" --store "$store" result upload 1 "$old" --name data.bin > /dev/null
# Another connection (the sqlite3 CLI) stays open throughout, so that the WAL index (-shm)
# exists: only the write-ahead log itself must grow when the upload commits.
mkfifo "$mnt/../ctl"
sqlite3 "$store/wfctl.db" < "$mnt/../ctl" > "$mnt/../sql.out" &
exec 3> "$mnt/../ctl"
echo "PRAGMA wal_checkpoint(TRUNCATE); SELECT 'ready';" >&3
until grep -q ready "$mnt/../sql.out" 2> /dev/null; do sleep 0.05; done
cp -a "$store" "$mnt/../before"
free=$(( $(stat -f -c '%a' "$mnt") * $(stat -f -c '%S' "$mnt") ))
need=$(( ($(stat -c %s "$new") + 4095) / 4096 * 4096 ))
head -c $((free - need)) /dev/zero > "$mnt/filler"
for args in "--name data.bin --force" "--name other.bin"; do
  set +e
  "$wfctl" --store "$store" result upload 1 "$new" $args > "$mnt/../out" 2> "$mnt/../err"
  echo "exit $?"
  set -e
  grep -o "cannot write store" "$mnt/../err" || cat "$mnt/../err" >&2
  ls -A "$store/tmp"
  diff -r "$mnt/../before/records" "$store/records" && echo "records unchanged"
done
rm "$mnt/filler"
exec 3>&-
wait
sqlite3 "$store/wfctl.db" "SELECT record_id, name, size FROM results ORDER BY name"
'''
        work = tempfile.mkdtemp(prefix="wfctl-full-")
        self.addCleanup(shutil.rmtree, work, True)
        mnt = os.path.join(work, "mnt")
        os.makedirs(mnt)
        r = subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", mnt, WFCTL, self.old, self.new],
                           capture_output=True, text=True, env=self.env, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        blocks = r.stdout.split("exit ")[1:]
        self.assertEqual(len(blocks), 2, r.stdout)
        for block in blocks:
            lines = block.splitlines()
            # ENOSPC (6) when the index is written, after staging; the lake as it was, tmp/ empty.
            self.assertEqual(lines[:3], ["6", "cannot write store", "records unchanged"], r.stdout)
        self.assertEqual(r.stdout.splitlines()[-1], "1|data.bin|12", r.stdout)  # the old row, and only it
