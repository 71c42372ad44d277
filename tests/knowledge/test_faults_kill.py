"""kill -9 in the middle of an approved bulk import, a reindex and an approval, then a restart:
nothing is half-written (each store transaction happened or did not) and, after the normal
start-up sync, the index holds exactly what the store serves. A deleted or corrupt Chroma folder
is rebuilt from the store at start-up. Issue 13, "Faults".

Each step is a child process (tests/fault_runner.py: the real CLI, an approval through the store
with the server's index follower, the server's own start-up function) with a fast test embedder;
the child stops at a named point and the test kills it there with SIGKILL. Store on SQLite and on
PostgreSQL (conftest's `stores`). Marked slow: about 3 s per child process.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knowledge import Entry
from knowledge.store import KnowledgeStore
from tests.fakes import FAKE_KB
from tests.fault_runner import environment

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
PASSWORD = "correct-horse-battery"
SEEDED = {e["id"]: 1 for e in FAKE_KB}


class Deployment:
    """A data folder and its store, and child processes that work on them as the CLI or server would."""

    def __init__(self, tmp_path: Path, stores) -> None:
        self.data = tmp_path / "data"
        self.seed = tmp_path / "seed.jsonl"
        self.seed.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in FAKE_KB), encoding="utf-8")
        self.env = environment(self.data, self.seed)
        target = self.data / "teller.sqlite3" if stores.backend == "sqlite" else stores.target()
        if stores.backend == "postgresql":
            self.env["DT_DATABASE_URL"] = str(target)
        self.store: KnowledgeStore = stores.open(target)
        self.marker = tmp_path / "reached"

    def run(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "tests.fault_runner", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-4000:])
        return done

    def killed_at(self, point: str, *args: str) -> None:
        """Run the child until it reaches `point` ("import:20"), then kill -9 it there."""
        self.marker.unlink(missing_ok=True)
        env = {**self.env, "DT_TEST_PAUSE": point, "DT_TEST_MARKER": str(self.marker)}
        child = subprocess.Popen([sys.executable, "-m", "tests.fault_runner", *args], cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 90
        while not self.marker.exists():
            assert child.poll() is None, f"the child ended before {point}: {child.stderr.read()[-3000:]}"
            assert time.monotonic() < deadline, f"the child never reached {point}"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
        child.stderr.close()

    def restart(self) -> dict:
        """The server's start-up on what the killed process left; the index must match the store."""
        state = json.loads(self.run("startup").stdout.strip().splitlines()[-1])
        assert state["verify"] is True
        assert state["indexed"] == state["served"], state
        assert state["rows"] == state["expected_rows"], state      # no entry half-embedded
        assert state["top"] == "lost-card"
        return state


@pytest.fixture()
def deployment(tmp_path, stores) -> Deployment:
    d = Deployment(tmp_path, stores)
    d.store.staff.add("ada", "admin", password=PASSWORD)
    d.store.staff.add("ed", "editor", password=PASSWORD)
    d.store.staff.add("rita", "reviewer", password=PASSWORD)
    d.restart()                      # the first start: seeded, index built
    return d


def bulk_file(tmp_path: Path, n: int = 40) -> Path:
    path = tmp_path / "bulk.jsonl"
    rows = [{"id": f"branch-{i:02d}", "questions": {"en": [f"Where is branch number {i}", f"branch {i} address",
                                                          f"how do I get to branch {i}"]},
             "answer": {"en": f"Branch {i} is on Main Street {i}."}, "tags": ["branches"]} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def imported(store: KnowledgeStore) -> set[str]:
    return {i for i in store.served_versions() if i.startswith("branch-")}


@pytest.mark.parametrize("point", ["import:1", "import:20", "random", "committed:1"])
def test_kill_during_an_approved_bulk_import(deployment, tmp_path, point):
    bulk = bulk_file(tmp_path)
    if point == "random":
        at = random.randint(1, 40)
        print(f"killed after entry {at} of 40")
        point = f"import:{at}"
    deployment.killed_at(point, "cli", "kb", "import", str(bulk), "--approve", "--as", "ada", "--quiet")
    store = deployment.store
    committed = point.startswith("committed")
    # All or nothing: the 40 entries and the kb.import record, or none of them.
    assert imported(store) == ({f"branch-{i:02d}" for i in range(40)} if committed else set())
    assert len(store.audit.query(action="kb.import")) == (1 if committed else 0)
    assert not [v for v in store.open_changes() if v.entry.id.startswith("branch-")]
    state = deployment.restart()
    assert len(state["served"]) == 3 + (40 if committed else 0)
    # The import can simply be run again.
    out = deployment.run("cli", "kb", "import", str(bulk), "--approve", "--as", "ada", "--quiet").stdout
    assert ("0 created, 0 updated" if committed else "40 created, 0 updated") in out, out
    assert len(deployment.restart()["served"]) == 43


@pytest.mark.parametrize("point", ["embed:1", "mark:1"])
def test_kill_during_a_reindex(deployment, tmp_path, point):
    bulk = bulk_file(tmp_path)
    deployment.run("cli", "kb", "import", str(bulk), "--approve", "--as", "ada", "--quiet")
    # The reindex drops the collection, embeds in batches, adds, then marks it as matching.
    deployment.killed_at(point, "cli", "kb", "reindex")
    assert len(deployment.restart()["served"]) == 43


@pytest.mark.parametrize("point", ["approve:1", "embed:1"])
def test_kill_during_an_approval(deployment, point):
    store = deployment.store
    current = store.served("lost-card")
    changed = Entry.from_dict({**current.to_dict(), "questions": {
        "en": ["I lost my bank card", "my card is gone", "report a stolen card"]}})
    version = store.update(changed, base_version=1, author="ed", submit=True).version
    # approve:1 is inside the approval's transaction; embed:1 is after its commit, while the
    # server's index follower re-embeds the entry.
    deployment.killed_at(point, "approve", "lost-card", str(version), "rita")
    committed = point == "embed:1"
    assert store.get("lost-card").served_version == (version if committed else 1)
    assert store.version("lost-card", version).state == ("approved" if committed else "pending")
    assert len(store.audit.query(action="version.approve", subject=f"entry:lost-card@{version}")) == committed
    state = deployment.restart()
    assert state["served"]["lost-card"] == state["indexed"]["lost-card"] == (version if committed else 1)


@pytest.mark.parametrize("damage", ["deleted", "garbage", "empty file", "segments deleted"])
def test_a_deleted_or_corrupt_chroma_folder_is_rebuilt_at_start_up(deployment, damage):
    chroma = deployment.data / "chroma"
    database = chroma / "chroma.sqlite3"
    if damage == "deleted":
        import shutil

        shutil.rmtree(chroma)
    elif damage == "garbage":
        database.write_bytes(random.Random(7).randbytes(64 * 1024))
    elif damage == "empty file":
        database.write_bytes(b"")
    else:
        for folder in [p for p in chroma.iterdir() if p.is_dir()]:
            for file in folder.iterdir():
                file.unlink()
    state = deployment.restart()
    assert state["served"] == SEEDED
    if damage == "garbage":
        assert (deployment.data / "chroma.broken" / "chroma.sqlite3").is_file()   # kept to look at
    deployment.restart()             # and the rebuilt folder opens as any other


def test_the_server_rebuilds_a_corrupt_index_and_goes_ready(deployment, tmp_path):
    """`digital-teller serve` (speech models faked, the knowledge start-up real) on a Chroma folder
    whose database is garbage: it rebuilds the index from the store, /readyz says ready, and a
    question is answered from the rebuilt index."""
    import urllib.request

    from benchmarks.loopback import free_port

    (deployment.data / "chroma" / "chroma.sqlite3").write_bytes(random.Random(3).randbytes(32 * 1024))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "tests.fault_runner", "serve", "--host", "127.0.0.1",
                                   "--port", str(port)], cwd=ROOT, env={**deployment.env, "DT_PRESYNTHESIZE": "false"},
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, "not ready within 90 s"
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as res:
                    if res.status == 200 and json.loads(res.read())["status"] == "ready":
                        break
            except OSError:
                time.sleep(0.2)
        request = urllib.request.Request(f"{url}/v1/ask", data=json.dumps({"text": "I lost my bank card"}).encode(),
                                         headers={"Content-Type": "application/json", "Origin": url})
        with urllib.request.urlopen(request, timeout=30) as res:
            assert json.loads(res.read())["entry_id"] == "lost-card"
        assert "cannot be read" in log.read_text(errors="replace")
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
