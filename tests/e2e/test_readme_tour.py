"""The README's tour, run as a newcomer runs it: the `export` lines that `nuage demo` (what
`make run` runs) prints are pasted into bash, then every command of the README's tour blocks runs
in order with curl against that server, and each `# expect:` comment is checked. The README
cannot drift from the product, and it stands alone (no link out of the repository)."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_cli_run import Server

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BLOCK = re.compile(r"<!-- tour(?P<label>:[^>]*)? -->\n```sh\n(?P<body>.*?)\n```", re.S)
EXPECT = re.compile(r"\s# expect: (?P<checks>[^(\n]*)")
ASSIGNED = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)=\$\(")
MARK = "@@tour"


def tour_blocks() -> tuple[list[str], list[str]]:
    """The lines of the block showing what `make run` prints, and the tour's commands in order
    (a command spans lines while a single-quoted string is open)."""
    banner: list[str] = []
    commands: list[str] = []
    for block in BLOCK.finditer(README.read_text(encoding="utf-8")):
        lines = block["body"].splitlines()
        if block["label"]:
            banner = lines
            continue
        pending = ""
        for line in lines:
            pending = f"{pending}\n{line}" if pending else line
            if pending.count("'") % 2 == 0:
                commands.append(pending)
                pending = ""
        assert not pending, f"unterminated command in the README: {pending!r}"
    return banner, commands


def _shape(line: str) -> str:
    """An export line with its values blanked (the README shows placeholders)."""
    return re.sub(r"\b([A-Z][A-Z_]*)=\S+", r"\1=…", line) if line.startswith("export ") else line


def _answer(output: str) -> tuple[int | None, Any]:
    """The HTTP status (when curl -i showed it) and the JSON body of one command's output."""
    status = None
    if output.startswith("HTTP/"):
        head, _, output = output.replace("\r\n", "\n").partition("\n\n")
        status = int(head.split()[1])
    return status, json.loads(output)


def _value(body: Any, path: str) -> str:
    for key in path.split("."):
        body = body[int(key)] if isinstance(body, list) else body[key]
    return json.dumps(body) if isinstance(body, bool | None) else str(body)


def check(command: str, output: str) -> None:
    expected = EXPECT.search(command.splitlines()[-1])
    if expected is None:
        return
    status, body = _answer(output)
    for item in expected["checks"].split():
        if item.isdigit():
            assert status == int(item), f"{command}\n→ {output}"
        else:
            path, _, want = item.partition("=")
            assert _value(body, path) == want, f"{path}: {command}\n→ {output}"


def test_the_readme_stands_alone() -> None:
    text = README.read_text(encoding="utf-8")
    assert "../" not in text
    for target in re.findall(r"`((?:docs|scripts|bench)/[\w./-]+)`", text):
        assert (ROOT / target).exists(), target


def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        problem = "The README's tour uses curl, which is not installed (.ci/run installs it)."
        if os.environ.get("CI"):
            pytest.fail(problem, pytrace=False)
        pytest.skip(problem)
    banner, commands = tour_blocks()
    assert len(commands) > 10
    server = Server(tmp_path / "var", NUAGE_SIM_LATENCY_MS="300")
    try:
        start = next(i for i, line in enumerate(server.banner) if line.startswith("Paste"))
        end = server.banner.index("", start)
        pasted = [line.strip() for line in server.banner[start + 1 : end]]
        assert [_shape(line) for line in banner] == [_shape(line) for line in pasted]
        assert f"NUAGE_URL=http://127.0.0.1:{server.port}" in "\n".join(pasted)
        script = ["set -u", *pasted]
        for n, command in enumerate(commands):
            script.append(f"printf '\\n{MARK} {n}\\n'")
            script.append(f"{{ {command}\n}} 2>&1")
            script.append(f"printf '\\n{MARK}-rc %s\\n' $?")
            if name := ASSIGNED.match(command):
                script.append(f'printf "%s" "${name["name"]}"')
        done = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            capture_output=True,
            text=True,
            timeout=360,
            check=False,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
    finally:
        server.stop()
    parts = re.split(rf"\n{MARK} \d+\n", done.stdout)[1:]
    assert len(parts) == len(commands), done.stdout + done.stderr
    for command, part in zip(commands, parts, strict=True):
        output, _, rest = part.partition(f"\n{MARK}-rc ")
        rc, _, assigned = rest.partition("\n")
        assert rc == "0", f"{command}\n→ exit {rc}: {output}"
        if ASSIGNED.match(command):
            assert assigned.strip(), f"{command}\n→ nothing assigned: {output}"
        check(command, output.strip())
