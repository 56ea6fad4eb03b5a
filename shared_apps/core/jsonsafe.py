"""JSON from outside (request bodies, archives' manifests), decoded with a bound on nesting.

Python's decoder recurses once per level: a body of a thousand `[` overflows the interpreter's stack (RecursionError,
which nothing upstream expects: a 500), and a little less than that passes the decoder only to overflow whatever
walks the result next. `json_loads` refuses both with one ValueError, as for any other malformed JSON.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64  # far beyond any body Atrium reads; deep enough for any document it writes


class JsonTooDeep(ValueError):
    """The JSON nests deeper than MAX_DEPTH (or than the decoder can)."""


def json_depth_check(value: Any, *, max_depth: int = MAX_DEPTH) -> Any:
    """`value` (decoded JSON) if no list or object in it lies deeper than `max_depth`; JsonTooDeep otherwise. Walks
    without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > max_depth:
            raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels.")
        stack.extend((child, depth + 1) for child in children)
    return value


def json_loads(raw: str | bytes, *, max_depth: int = MAX_DEPTH, **options: Any) -> Any:
    """`json.loads(raw)`, refusing with JsonTooDeep (a ValueError) JSON that nests deeper than `max_depth`."""
    try:
        value = json.loads(raw, **options)
    except RecursionError as exc:
        raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels.") from exc
    return json_depth_check(value, max_depth=max_depth)
