"""How commands print: a table by default, `--json` for scripts, `--quiet` for ids only."""

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

Column = tuple[str, Callable[[Any], object]]
WIDE = 250  # when stdout is no terminal, tables are not cut to 80 columns (ids stay whole)


def console() -> Console:
    screen = Console(soft_wrap=True)
    return screen if screen.is_terminal else Console(soft_wrap=True, width=WIDE)


@dataclass(frozen=True, slots=True)
class Mode:
    json: bool = False
    quiet: bool = False


def field(name: str) -> Column:
    return name, lambda item: getattr(item, name)


def cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value)
    return str(value)


def show_many(items: Iterable[BaseModel], columns: Sequence[Column], mode: Mode) -> None:
    screen = console()
    rows = list(items)
    if mode.quiet:
        for item in rows:
            print(getattr(item, "id", ""))
    elif mode.json:
        print(json.dumps([item.model_dump(mode="json") for item in rows], indent=2))
    else:
        table = Table(*(name for name, _ in columns))
        table.columns[0].no_wrap = True
        for item in rows:
            table.add_row(*(cell(get(item)) for _, get in columns))
        screen.print(table)


def show_one(item: BaseModel, columns: Sequence[Column], mode: Mode) -> None:
    if mode.quiet:
        print(getattr(item, "id", ""))
    elif mode.json:
        print(item.model_dump_json(indent=2))
    else:
        table = Table("field", "value", show_header=False)
        for name, get in columns:
            table.add_row(name, cell(get(item)))
        console().print(table)


def show_event(payload: dict[str, Any], line: str, mode: Mode) -> None:
    if mode.json:
        print(json.dumps(payload), flush=True)
    elif mode.quiet:
        print(payload.get("id"), flush=True)
    else:
        print(line, flush=True)
