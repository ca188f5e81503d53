"""Where `nuage login` keeps its profiles: `$XDG_CONFIG_HOME/nuage/config.json` (else
`~/.config/nuage/config.json`), written with mode 0600 as it holds API keys.

    {"default": "default", "profiles": {"default": {"url": …, "api_key": …,
     "organization_id": …, "project_id": …}}}"""

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nuage.client.errors import ConfigurationError

DEFAULT_PROFILE = "default"


@dataclass(frozen=True, slots=True)
class Profile:
    url: str
    api_key: str
    organization_id: str | None = None
    project_id: str | None = None


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "nuage" / "config.json"


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"default": DEFAULT_PROFILE, "profiles": {}}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def save(name: str, profile: Profile, *, make_default: bool, path: Path | None = None) -> Path:
    """Add or replace a profile; the file is made 0600 before anything is written to it."""
    path = path or config_path()
    data = _read(path)
    data.setdefault("profiles", {})[name] = asdict(profile)
    if make_default or "default" not in data:
        data["default"] = name
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_suffix(".tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2)
    os.chmod(partial, 0o600)
    os.replace(partial, path)
    return path


def load(name: str | None, *, path: Path | None = None) -> Profile:
    """The profile `name` (else the default one)."""
    path = path or config_path()
    data = _read(path)
    chosen = name or data.get("default") or DEFAULT_PROFILE
    found = data.get("profiles", {}).get(chosen)
    if found is None:
        raise ConfigurationError(f"no profile {chosen!r} in {path}: run `nuage login` first")
    return Profile(**found)
