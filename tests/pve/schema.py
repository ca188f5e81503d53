"""Requests checked against Proxmox VE's published API schema, as a real node checks them.

The schema is `../shared/proxmox/pve-api-schema.json` from the repository root (PVE 9.1.3, the
API viewer's `apiSchema`); a missing file is an error, never a silent pass. `check()` answers the
problems of one request: an unknown path or method, an unknown or missing parameter, a repeated
one, and each value against its type, enum, range, length, pattern and format (`formats.py`).
Path parameters (`{vmid}`...) are also properties of the method, so their values are checked too.
"""

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tests.pve import recording
from tests.pve.formats import Problems, check_value

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT / ".." / "shared" / "proxmox" / "pve-api-schema.json"
# Path parameters whose values hold slashes (proxmoxer splits `local:backup/x` into segments).
MULTI_SEGMENT = {"volume", "cidr", "poolid"}
NUMBERED = re.compile(r"(.+)\[n\]")
# Highest index of numbered options whose limit the schema gives only in qemu-server's code.
INDEX_LIMITS = {"net": 31, "ipconfig": 31, "unused": 255, "hostpci": 15, "usb": 13, "numa": 7}


@dataclass(frozen=True)
class Method:
    path: str
    method: str
    properties: Mapping[str, Mapping[str, Any]]
    additional: bool
    returns: Mapping[str, Any]


@dataclass
class _Node:
    literal: dict[str, "_Node"]
    param: tuple[str, "_Node"] | None
    methods: dict[str, Method]


class Schema:
    """The API tree, indexed by path segment."""

    def __init__(self, roots: Iterable[Mapping[str, Any]]) -> None:
        self.root = _Node({}, None, {})
        self.count = 0
        for node in _walk(roots):
            for verb, info in (node.get("info") or {}).items():
                self._add(node["path"], verb, info)

    def _add(self, path: str, verb: str, info: Mapping[str, Any]) -> None:
        at = self.root
        for segment in path.strip("/").split("/"):
            if segment.startswith("{"):
                name = segment[1:-1]
                if at.param is None:
                    at.param = (name, _Node({}, None, {}))
                at = at.param[1]
            else:
                at = at.literal.setdefault(segment, _Node({}, None, {}))
        parameters = info.get("parameters") or {}
        at.methods[verb] = Method(
            path,
            verb,
            parameters.get("properties") or {},
            str(parameters.get("additionalProperties", 1)) != "0",
            info.get("returns") or {},
        )
        self.count += 1

    def match(self, path: str) -> tuple[_Node, dict[str, str]] | None:
        """The node of a concrete path and its path parameters' values."""
        return _match(self.root, [s for s in path.strip("/").split("/") if s], {})


def _walk(nodes: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for node in nodes:
        yield node
        yield from _walk(node.get("children") or [])


def _match(
    at: _Node, segments: list[str], values: dict[str, str]
) -> tuple[_Node, dict[str, str]] | None:
    if not segments:
        return at, values
    head, rest = segments[0], segments[1:]
    if head in at.literal:
        found = _match(at.literal[head], rest, values)
        if found is not None:
            return found
    if at.param is None:
        return None
    name, child = at.param
    ends = range(len(segments), 0, -1) if name in MULTI_SEGMENT else (1,)
    for end in ends:
        found = _match(child, segments[end:], {**values, name: "/".join(segments[:end])})
        if found is not None:
            return found
    return None


@cache
def load() -> Schema:
    if not SCHEMA_PATH.is_file():
        raise FileNotFoundError(
            f"Proxmox's API schema is missing at {SCHEMA_PATH} (../shared/proxmox/ from the "
            "repository root): the Proxmox requests cannot be checked without it"
        )
    return Schema(json.loads(SCHEMA_PATH.read_text()))


def check(method: str, path: str, params: Iterable[tuple[str, str]] = ()) -> Problems:
    """The problems Proxmox VE would find in this request (empty: it would accept it)."""
    found = load().match(path)
    if found is None or not found[0].methods:
        return [f"no such path {path!r} in the API"]
    node, path_values = found
    spec = node.methods.get(method.upper())
    if spec is None:
        return [f"method {method.upper()} not available on {path!r} ({sorted(node.methods)})"]
    pairs = list(params)
    problems = _repeats(spec, pairs)
    values = {**dict(pairs), **path_values}
    for name, value in values.items():
        problems += [f"{name}: {p}" for p in _check_param(spec, name, value)]
    for name, schema in spec.properties.items():
        if "[n]" not in name and str(schema.get("optional", 0)) != "1" and name not in values:
            problems.append(f"{name}: property is missing and it is not optional")
    return problems


def check_sent(sent: recording.Sent) -> Problems:
    return check(sent.method, sent.path, sent.params)


def _repeats(spec: Method, pairs: list[tuple[str, str]]) -> Problems:
    names = [name for name, _ in pairs]
    repeated = {n for n in names if names.count(n) > 1}
    arrays = {n for n in repeated if (_property(spec, n) or {}).get("type") == "array"}
    return [f"{name}: given more than once" for name in sorted(repeated - arrays)]


def _property(spec: Method, name: str) -> Mapping[str, Any] | None:
    if name in spec.properties:
        return spec.properties[name]
    found = re.fullmatch(r"([a-z_]+?)(\d+)", name)
    if found is None:
        return None
    base, index = found.group(1), int(found.group(2))
    schema = spec.properties.get(f"{base}[n]")
    if schema is None:
        return None
    limit = _index_limit(base, schema)
    return schema if limit is None or index <= limit else None


def _index_limit(base: str, schema: Mapping[str, Any]) -> int | None:
    stated = re.search(r"\(n is 0 to (\d+)\)", str(schema.get("description", "")))
    return int(stated.group(1)) if stated else INDEX_LIMITS.get(base)


def _check_param(spec: Method, name: str, value: str) -> Problems:
    schema = _property(spec, name)
    if schema is None:
        return [] if spec.additional else ["property is not defined in schema"]
    if schema.get("type") == "array":
        items = schema.get("items") or {}
        return check_value(items, value) if isinstance(items, dict) else []
    return check_value(schema, value)


def check_returns(method: str, path: str, data: Any) -> Problems:
    """An answer's `data` against the method's `returns`, one level deep (types only)."""
    found = load().match(path)
    spec = found[0].methods.get(method.upper()) if found else None
    if spec is None:
        return [f"no such method {method} {path}"]
    returns = spec.returns
    if (returns.get("type") == "object" or "properties" in returns) and isinstance(data, dict):
        props = returns.get("properties") or {}
        return [
            f"{key}: {problem}"
            for key, value in data.items()
            if key in props
            for problem in _json_type(props[key], value)
        ]
    return _json_type(returns, data)


_JSON_TYPES: Mapping[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (int, bool),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def _json_type(schema: Mapping[str, Any], value: Any) -> Problems:
    kinds = _JSON_TYPES.get(str(schema.get("type")))
    if kinds is None or value is None or isinstance(value, kinds):
        return []
    return [f"expected {schema['type']}, got {type(value).__name__} {value!r}"]
