"""JSON that a client sends inside a form field or a query parameter, parsed with bounded cost.

Python's json module recurses once per nesting level and refuses integers of more than 4,300 digits, and
both failures are plain `RecursionError` / `ValueError`, not `JSONDecodeError`. Text is capped in length
first, so neither the parse nor the error it may raise costs more than a few kilobytes' worth of work.
"""

from __future__ import annotations

import json
from typing import Any

from shared.errors import ConfigError, InputError

MAX_JSON_CHARS = 16_384
"""Longest JSON text accepted in a form field (params): a config has about twenty short fields."""


def loads_client_json(text: str, what: str, error: type[InputError] = ConfigError) -> Any:
    """Parse `text` (the field `what`); too long, too deep, a huge number or bad syntax is `error` (422)."""
    if len(text) > MAX_JSON_CHARS:
        raise error(f"{what} is {len(text)} characters long, over the limit of {MAX_JSON_CHARS}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{what} is not valid JSON ({exc.msg} at character {exc.pos})") from exc
    except RecursionError as exc:
        raise error(f"{what} is nested too deeply") from exc
    except ValueError as exc:  # an integer literal past Python's digit limit
        raise error(f"{what} holds a number too large to read") from exc
