"""How the engines decode a JSON column's value (`make_engine`'s and `make_reader`'s
`json_deserializer`)."""

import json
from typing import Any

from pydantic_core import from_json


def decode_json(text: str | bytes) -> Any:
    """pydantic-core's parser makes the values `json.loads` makes in a quarter of its time (a
    task's row has four JSON columns), but refuses nesting deeper than about 200 levels, which
    the standard library reads."""
    try:
        return from_json(text)
    except ValueError:
        return json.loads(text)
