"""Every command the README shows, run once through the installed console script on a fresh HOME.

A fresh HOME has no prepared models and no data: exactly what a bank's first install meets, and
what the in-process CLI tests (which share the session's prepared models) never see. The first
test prepares the models with progress bars on, as a person runs it; the rest use that HOME.
`test_every_readme_command_has_a_test` ties the README's "Command line" block to the tests here,
so the README cannot show a command that no test runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from benchmarks.loopback import free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

# README command (as its line in "Command line" starts, alternatives after " | " split off) → the
# test here that runs it.
COVERED = {
    "digital-teller serve": "test_serve_admits_its_own_page_on_any_port",
    "digital-teller models": "test_models_prepares_a_fresh_home_with_progress_bars",
    "digital-teller transcribe": "test_say_then_transcribe",
    "digital-teller ask": "test_ask_in_both_languages",
    "digital-teller kiosk add": "test_kiosk_add_list_revoke",
    "digital-teller kiosk revoke": "test_kiosk_add_list_revoke",
    "digital-teller kiosk list": "test_kiosk_add_list_revoke",
    "digital-teller say": "test_say_then_transcribe",
    "digital-teller render": "test_render",
    "digital-teller staff add": "test_staff_kb_and_audit",
    "digital-teller staff password": "test_staff_kb_and_audit",
    "digital-teller kb import": "test_staff_kb_and_audit",
    "digital-teller kb export": "test_staff_kb_and_audit",
    "digital-teller kb reindex": "test_staff_kb_and_audit",
    "digital-teller kb eval": "test_kb_eval_and_pairs",
    "digital-teller kb pairs": "test_kb_eval_and_pairs",
    "digital-teller audit verify": "test_staff_kb_and_audit",
    "digital-teller audit purge": "test_staff_kb_and_audit",
    "python -m knowledge.calibrate": "test_calibrate",
}


GROUPS = ("kiosk", "staff", "kb", "audit")   # commands whose second word is a sub-command


def readme_commands() -> list[str]:
    """The commands of the README's "Command line" block, one per alternative ("a | b")."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Command line", 1)[1].split("```", 2)[1]
    found = []
    for line in block.splitlines()[1:]:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("python -m "):
            found.append(" ".join(line.split()[:3]))
            continue
        first, *alternatives = line.split(" | ")
        words = first.split()
        assert words[0] == "digital-teller", line
        group = words[1]
        if group not in GROUPS:
            found.append(f"digital-teller {group}")
            continue
        found.append(f"digital-teller {group} {words[2]}")
        found += [f"digital-teller {group} {alt.split()[0]}" for alt in alternatives]
    return found


def test_every_readme_command_has_a_test():
    commands = readme_commands()
    assert "digital-teller kiosk revoke" in commands and "digital-teller kb pairs" in commands, commands
    missing = [c for c in commands if c not in COVERED]
    assert not missing, f"README commands no test runs: {missing}"
    for test in set(COVERED.values()):
        assert callable(globals().get(test)), test


# ---------------------------------------------------------------- a fresh HOME, the console script


class Shell:
    """Runs the installed `digital-teller` (and `python -m ...`) with HOME pointed at `home`."""

    def __init__(self, home: Path):
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DT_", "XDG_"))}
        self.env.update(HOME=str(home), HF_HUB_OFFLINE="1")
        script = shutil.which("digital-teller")
        assert script, "the console script `digital-teller` is not installed (pip install -e .)"
        self.script = script

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, *args[1:]] if args[0] == "python" else [self.script, *args]

    def run(self, *args: str, ok: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        done = subprocess.run(self.argv(*args), env=self.env, cwd=self.home, capture_output=True,
                              text=True, timeout=timeout)
        if ok:
            assert done.returncode == 0, (args, done.returncode, done.stdout[-2000:], done.stderr[-4000:])
        return done

    def start(self, *args: str, log: Path) -> subprocess.Popen:
        # Output to a file, not a pipe: nobody reads a pipe while the server runs, and a full one
        # would block the server on its next log line.
        with log.open("w") as out:
            return subprocess.Popen(self.argv(*args), env=self.env, cwd=self.home, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture(scope="module")
def shell(tmp_path_factory) -> Shell:
    """A fresh HOME whose models `digital-teller models` prepared (its output kept for the test)."""
    sh = Shell(tmp_path_factory.mktemp("fresh-home"))
    started = time.monotonic()
    sh.first_models = sh.run("models")
    sh.first_models_s = time.monotonic() - started
    return sh


def test_models_prepares_a_fresh_home_with_progress_bars(shell):
    done = shell.first_models
    # The path the issue found broken: Whisper assembled with a tqdm bar that starts with no total.
    assert "preparing whisper-base" in done.stderr and "%|" in done.stderr, done.stderr[-2000:]
    assert "failed" not in done.stderr and "all models ready" in done.stdout
    assert (shell.home / ".cache" / "digital-teller" / "models" / "whisper-base" / "model.bin").is_file()
    check = shell.run("models", "--check")
    assert check.stdout.count("ready") >= 6, check.stdout
    print(f"digital-teller models on a fresh HOME: {shell.first_models_s:.1f} s")


def ask_json(url: str, text: str) -> dict:
    request = urllib.request.Request(f"{url}/v1/ask", data=json.dumps({"text": text}).encode(),
                                     headers={"Content-Type": "application/json", "Origin": url})
    with urllib.request.urlopen(request, timeout=60) as res:
        return json.loads(res.read())


def test_serve_admits_its_own_page_on_any_port(shell, tmp_path):
    from websockets.sync.client import connect

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    proc = shell.start("serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(tmp_path / "data"),
                       log=log)
    try:
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, "serve was not ready within 300 s"
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as res:
                    if res.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        with urllib.request.urlopen(f"{url}/", timeout=10) as res:
            assert "<html" in res.read().decode().lower()
        # The page's own origin on a port other than 8000: what a browser on the page sends.
        with connect(f"ws://127.0.0.1:{port}/v1/session", origin=url, open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=30))["type"] == "session.created"
        body = ask_json(url, "银行卡丢了怎么办")
        assert body["entry_id"] == "lost-card" and body["language"] == "zh", body
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)


@pytest.mark.parametrize("text,language,entry", [("银行卡丢了怎么办", "zh", "lost-card"),
                                                 ("How do I report a lost card?", "en", "lost-card")])
def test_ask_in_both_languages(shell, tmp_path, text, language, entry):
    body = json.loads(shell.run("ask", text, "--data-dir", str(tmp_path)).stdout)
    assert body["entry_id"] == entry and body["language"] == language and not body["handoff"], body


def test_say_then_transcribe(shell, tmp_path):
    wav, track = tmp_path / "answer.wav", tmp_path / "visemes.json"
    shell.run("say", "How do I report a lost card?", "--lang", "en", "--out", str(wav), "--track", str(track),
              "--format", "oculus")
    assert json.loads(track.read_text(encoding="utf-8")), "empty viseme track"
    again = tmp_path / "again.wav"
    shell.run("say", "How do I report a lost card?", "--lang", "en", "--out", str(again))
    assert again.read_bytes() == wav.read_bytes()          # seeded: the same text, the same audio
    heard = json.loads(shell.run("transcribe", str(wav), "--language", "auto").stdout)
    assert "card" in heard["text"].lower() and heard["language"] == "en", heard

    zh = tmp_path / "zh.wav"
    shell.run("say", "您好，银行卡丢了怎么办？", "--lang", "zh", "--out", str(zh), "--track", str(tmp_path / "zh.json"),
              "--format", "oculus")
    heard = json.loads(shell.run("transcribe", str(zh), "--language", "zh").stdout)
    assert heard["language"] == "zh" and "卡" in heard["text"], heard


def test_render(shell, tmp_path):
    script = tmp_path / "SCRIPT.md"
    script.write_text("# Lost card\n\nCall us at once if your card is lost.\n", encoding="utf-8")
    shell.run("render", str(script), "--out", str(tmp_path / "out"))
    made = {p.suffix for p in (tmp_path / "out").iterdir()}
    assert {".wav", ".vtt", ".json"} <= made, made


def test_kiosk_add_list_revoke(shell, tmp_path):
    data = str(tmp_path)
    added = shell.run("kiosk", "add", "shinan-01", "--as", "ada", "--data-dir", data).stdout
    assert added.splitlines()[1].startswith("dtk_")
    assert shell.run("kiosk", "list", "--data-dir", data).stdout == "shinan-01\tactive\n"
    shell.run("kiosk", "revoke", "shinan-01", "--data-dir", data)
    assert shell.run("kiosk", "list", "--data-dir", data).stdout == "shinan-01\trevoked\n"


def test_staff_kb_and_audit(shell, tmp_path):
    data = str(tmp_path / "data")
    assert "added" in shell.run("staff", "add", "ada", "--role", "admin", "--data-dir", data).stdout
    assert "new password (shown once)" in shell.run("staff", "password", "ada", "--data-dir", data).stdout
    assert "entries" in shell.run("kb", "reindex", "--data-dir", data).stdout   # seeds the demo KB
    exported = tmp_path / "kb.jsonl"
    shell.run("kb", "export", str(exported), "--data-dir", data)
    rows = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    assert len(rows) > 50 and rows[0]["id"]
    rows[0]["questions"]["en"].append("A question staff added in the spreadsheet")
    exported.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = shell.run("kb", "import", str(exported), "--approve", "--as", "ada", "--data-dir", data).stdout
    assert "0 created, 1 updated (published)" in out, out
    assert "audit chain intact" in shell.run("audit", "verify", "--data-dir", data).stdout
    out = shell.run("audit", "purge", "--older-than", "0", "--data-dir", data).stdout
    assert "purged the question texts" in out, out
    assert "audit chain intact" in shell.run("audit", "verify", "--data-dir", data).stdout


def test_kb_eval_and_pairs(shell, tmp_path):
    queries = tmp_path / "QUERIES.csv"
    queries.write_text("question,expected_entry_id\n我的卡丢了,lost-card\nWhen are you open on Saturday?,weekend-hours\n"
                       "给我讲个笑话吧,\n", encoding="utf-8")
    out = shell.run("kb", "eval", str(queries), "--data-dir", str(tmp_path / "data")).stdout
    assert "top-1" in out.lower() and "by threshold" in out and "0.60" in out and "<- current" in out, out
    dialogues = tmp_path / "DIALOGUES.jsonl"
    dialogues.write_text(json.dumps({"id": "d1", "turns": [{"text": "我想开个账户", "expect": "open-account"},
                                                          {"text": "那外国人呢", "expect": "foreigner-account"}]},
                                    ensure_ascii=False) + "\n", encoding="utf-8")
    out = shell.run("kb", "eval", str(dialogues), "--data-dir", str(tmp_path / "data")).stdout
    assert "follow-up turns: 1" in out and "follow-ups right:           100.0 %" in out, out
    pairs = tmp_path / "PAIRS.tsv"
    pairs.write_text("银行卡丢了怎么办\t我的卡不见了\t1\n银行卡丢了怎么办\t今天天气怎么样\t0\n"
                     "How do I open an account?\tI want to open a bank account\t1\n"
                     "How do I open an account?\tWhat time is it?\t0\n", encoding="utf-8")
    out = shell.run("kb", "pairs", str(pairs), "--data-dir", str(tmp_path / "data")).stdout
    assert "AUC:" in out and "pairs: 4 (2 same meaning)" in out, out


def test_calibrate(shell, tmp_path):
    kb = tmp_path / "KB.jsonl"
    lines = (ROOT / "knowledge" / "demo_kb.jsonl").read_text(encoding="utf-8").splitlines()[:12]
    kb.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = shell.run("python", "-m", "knowledge.calibrate", str(kb)).stdout
    assert "# digital-teller.toml" in out and "handoff_threshold" in out, out[-2000:]
