"""`nuage events` follows the stream: each event a JSON line with `--json`, a resumed
connection sends `Last-Event-ID`, and a refused one (a revoked key) ends the command with the
API's code. Against a tiny local SSE server in the format of the events contract (the server's
`GET P/events` lands from another branch)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from nuage.cli.cloud import config
from tests.client.test_retries_and_stream_local import ORG, PROJECT, envelope
from tests.client.tiny_server import Answer, Seen, TinyServer

NUAGE = str(Path(sys.executable).with_name("nuage"))


def test_nuage_events_prints_json_lines_and_resumes(tmp_path: Path) -> None:
    def answer(_seen: Seen, n: int) -> Answer:
        stream = {"Content-Type": "text/event-stream"}
        if n == 1:
            return Answer(200, stream, chunks=[envelope(5).encode(), b": ping\n\n"])
        if n == 2:
            return Answer(200, stream, chunks=[envelope(6, "task.failed").encode()])
        refused = b'{"detail": "Invalid API key.", "code": "authentication_failed"}'
        return Answer(401, {"Content-Type": "application/json"}, refused)

    env = {k: v for k, v in os.environ.items() if not k.startswith("NUAGE_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    with TinyServer(answer) as server:
        profile = config.Profile(server.url, "sk-test", ORG, PROJECT)
        config.save("default", profile, make_default=True, path=tmp_path / "nuage/config.json")
        done = subprocess.run(
            [NUAGE, "events", "--json", "--types", "task.completed,task.failed"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(e["id"], e["type"]) for e in events] == [(5, "task.completed"), (6, "task.failed")]
    assert done.returncode == 1 and "authentication_failed (401)" in done.stderr
    assert [seen.headers.get("Last-Event-ID") for seen in server.seen] == [None, "5", "6"]
    assert server.seen[0].path.endswith("/events?types=task.completed%2Ctask.failed")


def test_shell_completion_is_offered() -> None:
    env = {**os.environ, "SHELL": "/bin/bash"}
    shown = subprocess.run(
        [NUAGE, "--show-completion"], env=env, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0 and "_nuage_completion" in shown.stdout
