"""Session-scoped knowledge fixtures: the embedder is loaded once, the demo index
is embedded once (the slow part, ~1,100 example questions) into a fresh folder
per test session, so tests never touch a developer's real index.

Store tests run on both backends: `backend` is "sqlite" or "postgresql", and `stores` /
`module_stores` hand out fresh databases on it. For PostgreSQL one real server is started
for the whole session (initdb into a temporary folder, listening only on a Unix socket in
that folder) and stopped at the end. Missing server binaries are an error, not a skip: a
green run must mean both backends were tested (the README's test command installs them).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from knowledge import Embedder, KnowledgeIndex, demo_kb_path, load_embedder, load_jsonl
from knowledge.store import KnowledgeStore

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return load_embedder("e5-small")


@pytest.fixture(scope="session")
def demo_entries():
    return load_jsonl(demo_kb_path())


@pytest.fixture(scope="session")
def demo_index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kb-demo-index")


@pytest.fixture(scope="session")
def demo_index(demo_index_path: Path, embedder: Embedder, demo_entries) -> KnowledgeIndex:
    index = KnowledgeIndex(demo_index_path, embedder)
    report = index.build(demo_entries)
    assert report.embedded == sum(len(e.example_questions()) for e in demo_entries)
    return index


# ------------------------------------------------------------------ PostgreSQL server

def _pg_bindir() -> Path | None:
    named = os.environ.get("DT_TEST_PG_BINDIR")
    found = [Path(named)] if named else []
    found += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name)
                    if p.parent.name.isdigit() else 0, reverse=True)
    on_path = shutil.which("initdb")
    found += [Path(on_path).parent] if on_path else []
    return next((d for d in found if (d / "initdb").exists() and (d / "postgres").exists()), None)


def _remove_dead_clusters(min_age_s: float = 600) -> None:
    """Delete the folders of test clusters whose server is gone (a killed run cannot clean up)."""
    for folder in Path(tempfile.gettempdir()).glob("dt-pg-*"):
        pid_file = folder / "data" / "postmaster.pid"
        try:
            if time.time() - folder.stat().st_mtime < min_age_s:
                continue  # maybe another run is still inside initdb
            if pid_file.exists() and _alive(int(pid_file.read_text().split()[0])):
                continue
        except (OSError, ValueError, IndexError):
            continue  # unreadable: not ours to judge
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PgServer:
    """A throw-away PostgreSQL cluster; durability is off (fsync) because nothing outlives it.

    The server is this process's child, started through `setpriv --pdeathsig INT`: if the
    test run is killed (a timeout, Ctrl-C twice) the kernel tells the server to shut down,
    so no orphaned server outlives the run that started it.
    """

    def __init__(self) -> None:
        bindir = _pg_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin,"
                               " on PATH or in DT_TEST_PG_BINDIR; install them (apt-get install postgresql),"
                               " as the README's test command does")
        self.bindir, self._numbers = bindir, itertools.count(1)
        _remove_dead_clusters()
        # Not under pytest's tmp folder: that one is private to this user (0700), and the server
        # must run as an unprivileged account, since postgres refuses to run as root.
        self.root = Path(tempfile.mkdtemp(prefix="dt-pg-"))
        self._as = ["setpriv"]
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self._as += ["--reuid=postgres", "--regid=postgres", "--init-groups"]
        data, log = self.root / "data", self.root / "server.log"
        done = subprocess.run([*self._as, "--", str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                               "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-N"],
                              cwd=self.root, capture_output=True, text=True, timeout=180)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}): {done.stderr.strip()}")
        with log.open("wb") as out:
            self._server = subprocess.Popen(
                [*self._as, "--pdeathsig", "INT", "--", str(bindir / "postgres"), "-D", str(data),
                 "-k", str(self.root), "-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=300"],
                cwd=self.root, stdout=out, stderr=subprocess.STDOUT)
        self._admin = self._connect_when_up(log)

    def _connect_when_up(self, log: Path):
        import psycopg

        deadline = time.monotonic() + 120
        while True:
            try:
                return psycopg.connect(self.url("postgres"), autocommit=True)
            except psycopg.OperationalError:
                if self._server.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"PostgreSQL did not start:\n{log.read_text()[-2000:]}") from None
                time.sleep(0.1)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.root}"

    def create(self, template: str | None = None) -> str:
        name = f"kb_{next(self._numbers)}"
        self._admin.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        return name

    def drop(self, name: str) -> None:
        self._admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        if getattr(self, "_admin", None) is not None:
            self._admin.close()
        try:
            if self._server.poll() is None:
                self._server.send_signal(signal.SIGINT)  # "fast" shutdown: disconnect clients, stop
                self._server.wait(60)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server():
    server = PgServer()
    yield server
    server.stop()


# ------------------------------------------------------------------ stores on either backend

class Stores:
    """Fresh knowledge stores on one backend; closes them (and drops PostgreSQL databases) at the end."""

    def __init__(self, backend: str, folder: Path, server: PgServer | None) -> None:
        self.backend, self.folder, self.server = backend, folder, server
        self._opened: list[KnowledgeStore] = []
        self._databases: list[str] = []

    def target(self, name: str = "kb") -> str | Path:
        """A new, empty database: a file path or a postgresql:// URL."""
        if self.server is None:
            return self.folder / f"{name}.sqlite3"
        self._databases.append(self.server.create())
        return self.server.url(self._databases[-1])

    def open(self, target: str | Path) -> KnowledgeStore:
        store = KnowledgeStore(target)
        self._opened.append(store)
        return store

    def new(self, name: str = "kb") -> KnowledgeStore:
        return self.open(self.target(name))

    def copy(self, template: KnowledgeStore, name: str = "kb") -> KnowledgeStore:
        """A new store holding what `template` holds (cheaper than re-hashing passwords)."""
        if self.server is None:
            path = self.folder / f"{name}.sqlite3"
            with contextlib.closing(template.db.connect()) as con:
                con.execute("VACUUM INTO ?", (str(path),))
            return self.open(path)
        template.close()  # CREATE DATABASE ... TEMPLATE needs the template unused
        from psycopg.conninfo import conninfo_to_dict

        source = conninfo_to_dict(str(template.db.target))["dbname"]
        self._databases.append(self.server.create(template=source))
        return self.open(self.server.url(self._databases[-1]))

    def raw(self, store: KnowledgeStore):
        """A connection outside the store's transactions, for tampering as an insider would."""
        return store.db.connect()

    def drop_audit_guard(self, con) -> None:
        """What a determined insider does first: remove the append-only triggers."""
        on = " ON kb_audit" if self.backend == "postgresql" else ""
        for trigger in ("kb_audit_no_update", "kb_audit_no_delete"):
            con.execute(f"DROP TRIGGER {trigger}{on}")

    @property
    def driver_error(self) -> type[Exception]:
        """What the database driver raises when the database refuses a statement."""
        if self.backend == "postgresql":
            import psycopg

            return psycopg.Error
        return sqlite3.DatabaseError

    def close(self) -> None:
        for store in self._opened:
            store.close()
        for name in self._databases:
            self.server.drop(name)  # type: ignore[union-attr]


def _stores(request: pytest.FixtureRequest, backend: str, folder: Path) -> Stores:
    server = request.getfixturevalue("pg_server") if backend == "postgresql" else None
    stores = Stores(backend, folder, server)
    request.addfinalizer(stores.close)
    return stores


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture()
def stores(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Stores:
    return _stores(request, backend, tmp_path)


@pytest.fixture()
def pg_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Stores:
    """Stores on PostgreSQL only, for what only PostgreSQL has (replicas, its lock, its pool)."""
    return _stores(request, "postgresql", tmp_path)


@pytest.fixture(scope="module")
def module_stores(request: pytest.FixtureRequest, backend: str, tmp_path_factory) -> Stores:
    return _stores(request, backend, tmp_path_factory.mktemp("stores"))
