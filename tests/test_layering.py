"""The one-way layering of design.md, checked on every test run (import-linter contracts in
pyproject.toml): api → services → db/domain, engine → drivers, drivers never touch the database,
and the SDK (nuage.client) imports nothing of the server."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 kept, 0 broken" in done.stdout


def test_fastapi_is_imported_only_by_the_api() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "src/nuage").rglob("*.py")
        if "api" not in path.relative_to(ROOT / "src/nuage").parts[:1]
        and ("import fastapi" in path.read_text() or "from fastapi" in path.read_text())
    ]
    assert offenders == []
