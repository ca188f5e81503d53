"""Schemathesis over the served document, against a real server: every phase (examples,
coverage, fuzzing, and the stateful phase that follows the document's links, e.g. create instance
→ get instance → its task), positive and negative data, a fixed seed, bounded in size.

It passes when no answer is a 5xx, every status is documented for its operation, every body and
header matches the document, and a method a path does not have is a 405 whose `Allow` lists
exactly the documented methods. The organization, project and catalogue ids are pinned to real
ones (a tenant made as `nuage bootstrap` makes it) so that requests reach real objects.

It runs once per kind of caller (docs/permissions.md): the owner with the full budget, the
coverage and the stateful phases, then a viewer, a guest, a read-only key, a project token and an
operator with a smaller one, so that every refusal they get is a documented answer too.
"""

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.contract.live import LiveServer

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "unsupported_method",
    "allow_header_conformance",
]


def catalogue_ids(server: LiveServer, kind: str) -> list[str]:
    page = httpx.get(f"{server.base}/v1/compute/{kind}", headers=server.headers).json()
    return [str(entry["id"]) for entry in page["results"]]


# caller → (examples per operation, stateful phase); the whole run stays within a few minutes.
# The coverage phase (every case the schema defines, whatever the budget) runs for the owner;
# the other callers' refusals come the same for any body, so examples and fuzzing cover them.
BUDGETS = {
    "owner": (8, True),
    "viewer": (2, False),
    "guest": (2, False),
    "read-only key": (2, False),
    "project token": (2, False),
    "staff": (2, True),
}


def config(server: LiveServer, caller: str) -> str:
    """schemathesis.toml: the seed, the budget, the token, pinned ids and the checks."""
    token = server.api_key if caller == "owner" else server.callers[caller]
    examples, stateful = BUDGETS[caller]
    dictionaries = {kind: catalogue_ids(server, kind) for kind in ("sizes", "locations", "images")}
    lines = [
        "seed = 20261202",
        f'base-url = "{server.base}"',
        "workers = 1",
        "request-timeout = 30",
        'suppress-health-check = ["all"]',
        "[auth.openapi.bearer]",
        f'bearer = "{token}"',
        "[parameters]",
        f'"path.organization_id" = "{server.organization_id}"',
        f'"path.project_id" = "{server.project_id}"',
        '"body.size_id" = { dictionary = "sizes" }',
        '"body.location_id" = { dictionary = "locations" }',
        '"body.image_id" = { dictionary = "images" }',
        '"body.instance_id" = { dictionary = "instances" }',
        # A webhook's host is resolved and posted to: only the discard port of 127.0.0.1.
        '"body.url" = "http://127.0.0.1:9/hooks"',
        "[generation]",
        f"max-examples = {examples}",
        'database = "none"',
        "[phases.stateful]",
        f"enabled = {str(stateful).lower()}",
        "[phases.coverage]",
        f"enabled = {str(caller == 'owner').lower()}",
        "[checks]",
        "enabled = false",
        *(f"{check}.enabled = true" for check in CHECKS),
        "[dictionaries.instances]",
        f'values = ["{server.instance_id}"]',
    ]
    for name, values in dictionaries.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}"]
    return "\n".join(lines) + "\n"


@pytest.mark.slow
@pytest.mark.parametrize("caller", list(BUDGETS))
def test_schemathesis_finds_nothing(live_server: LiveServer, tmp_path: Path, caller: str) -> None:
    (tmp_path / "schemathesis.toml").write_text(config(live_server, caller))
    run = subprocess.run(
        [
            SCHEMATHESIS,
            "--config-file",
            str(tmp_path / "schemathesis.toml"),
            "run",
            f"{live_server.base}/schema",
            "--no-color",
            # An endless stream never answers in full; tests/api/test_event_stream.py covers it.
            "--exclude-operation-id",
            "stream_events",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,  # about a minute here; a blow-up fails loudly instead of eating CI
        check=False,
    )
    assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-3000:]
    ran_stateful = "Stateful" in run.stdout and "Stateful (disabled)" not in run.stdout
    assert ran_stateful == BUDGETS[caller][1]
