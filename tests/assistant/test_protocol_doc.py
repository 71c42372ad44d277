"""docs/protocol.md is the spec: its examples must parse, match the server's classes and replay."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from teller_client import TellerClient

from assistant import protocol as p

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")


def blocks(tag: str) -> list[str]:
    return re.findall(r"```json " + tag + r"\n(.*?)```", DOC, flags=re.S)


SERVER_CLASSES = {cls.TYPE: cls for cls in vars(p).values()
                  if isinstance(cls, type) and issubclass(cls, p._ServerEvent) and cls.TYPE}


def test_every_client_example_parses():
    examples = blocks("client")
    assert len(examples) >= 6
    types = {p.parse_client_event(raw).type for raw in examples}
    assert types == set(p.CLIENT_EVENT_TYPES)


def test_every_server_example_matches_its_event_class():
    examples = [json.loads(raw) for raw in blocks("server")]
    seen = set()
    for ex in examples:
        cls = SERVER_CLASSES[ex["type"]]
        fields = {f.name for f in dataclasses.fields(cls)}
        assert set(ex) - {"type"} <= fields, ex["type"]
        # Exactly what the class sends (an optional field it leaves out when empty is left out here).
        assert cls(**{k: v for k, v in ex.items() if k != "type"}).to_event() == ex, ex["type"]
        seen.add(ex["type"])
    assert seen == set(SERVER_CLASSES), set(SERVER_CLASSES) - seen


def test_every_error_code_is_documented():
    codes = {v for k, v in vars(p.ErrorCode).items() if not k.startswith("_")}
    for code in codes:
        assert f"`{code}`" in DOC, code


async def test_sample_exchange_replays_against_the_server(server):
    steps = [json.loads(line) for line in blocks("exchange")[0].strip().splitlines()]

    async def replay():
        client = await TellerClient.connect(server.ws)
        for step in steps:
            await client.send(step["client"])
            got = []
            while len(got) < len(step["server"]) or (got and got[-1] == "response.audio.delta"
                                                     and step["server"][-1] != "response.audio.delta"):
                event = await client.recv()
                if got and got[-1] == event["type"] == "response.audio.delta":
                    continue  # many chunks collapse to one line in the doc
                got.append(event["type"])
                if got == step["server"]:
                    break
            assert got == step["server"], (step, got)
        await client.close()

    await replay()
