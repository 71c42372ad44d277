"""The server `benchmarks/load.py` measures: `digital-teller serve` as its own process on a free
loopback port, with its CPU, memory and error counts read while it runs."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from loopback import free_port

ROOT = Path(__file__).resolve().parent.parent


class ServerProcess:
    """`digital-teller serve` on a free loopback port, and its CPU and memory as it runs."""

    def __init__(self, data_dir: Path, model_dir: Path | None, log: Path):
        self.port = free_port()
        self.data_dir, self.model_dir, self.log = data_dir, model_dir, log

    def __enter__(self) -> ServerProcess:
        args = [sys.executable, "-m", "assistant.cli", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)]
        if self.model_dir:
            args += ["--model-dir", str(self.model_dir)]
        self.proc = subprocess.Popen(args, stdout=self.log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT,
                                     env={**os.environ, "DT_HOST": "127.0.0.1"})
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited; see {self.log}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as r:
                    if json.load(r)["status"] == "ready":
                        return self
            except OSError:
                pass
            time.sleep(0.5)
        raise SystemExit("the server did not become ready in 240 s")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/session"

    def error_counts(self) -> dict[str, float]:
        """`dt_errors_total` by code, as the server counted them (every error it sent)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            text = r.read().decode()
        counts: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("dt_errors_total{"):
                code = line.split('code="', 1)[1].split('"', 1)[0]
                counts[code] = float(line.rsplit(" ", 1)[1])
        return counts

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


class Usage:
    """The server's CPU (cores used on average) and peak RSS over one phase, sampled every 0.5 s."""

    def __init__(self, server: ServerProcess):
        self.server = server

    async def __aenter__(self) -> Usage:
        self.t0, self.c0, self.peak = time.monotonic(), self.server.cpu_s(), self.server.rss_mb()
        self.errors: dict[str, float] = {}
        self._task = asyncio.create_task(self._sample())
        return self

    async def _sample(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            self.peak = max(self.peak, self.server.rss_mb())

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()
        self.cores = (self.server.cpu_s() - self.c0) / (time.monotonic() - self.t0)
        self.errors = self.server.error_counts()   # cumulative since the server started
