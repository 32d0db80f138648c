"""How ``validate`` words what it found: types named as YAML or JSON says them, and
pydantic's errors as sentences naming the field."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from nimgen.catalog import RECORD_FIELDS


def _type_name(value: Any, *, in_json: bool = False) -> str:
    """What ``value`` is, in the words of JSON (``in_json``) or of YAML."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array" if in_json else "a list"
    if isinstance(value, dict):
        return "an object" if in_json else "a mapping"
    return f"a {type(value).__name__}"


def json_type(value: Any) -> str:
    return _type_name(value, in_json=True)


def yaml_type(value: Any) -> str:
    return _type_name(value)


def quoted(value: Any) -> str:
    """``value`` as the quoted YAML string it was probably meant to be."""
    if value is None:
        return '""'
    text = json.dumps(value) if isinstance(value, bool | int | float) else str(value)
    return json.dumps(text)


_TYPE_WORDS = {
    "string_type": "a string",
    "bool_type": "true or false",
    "tuple_type": "a non-empty array of strings",
    "list_type": "a non-empty array of strings",
}


def entry_messages(exc: ValidationError) -> list[str]:
    """The pydantic errors of one entry, as sentences naming the field."""
    messages: list[str] = []
    for error in exc.errors():
        loc = error["loc"]
        kind = error["type"]
        field_name = str(loc[0]) if loc else ""
        where = field_name + "".join(f"[{part}]" for part in loc[1:])
        given = error.get("input")
        if kind == "missing":
            messages.append(f"missing field {where!r}")
        elif kind == "extra_forbidden":
            messages.append(
                f"unknown field {where!r} (an entry has exactly the eight fields "
                f"{', '.join(RECORD_FIELDS)})"
            )
        elif kind in _TYPE_WORDS:
            messages.append(f"{where!r} must be {_TYPE_WORDS[kind]}, not {json_type(given)}")
        elif kind in ("too_short", "string_too_short"):
            messages.append(f"{where!r} is empty")
        elif kind == "value_error":
            message = strip_value_error(error["msg"])
            messages.append(f"{where!r}: {message}" if where else message)
        else:
            messages.append(f"{where!r}: {error['msg']}" if where else error["msg"])
    return messages


def strip_value_error(message: str) -> str:
    return message.removeprefix("Value error, ")
