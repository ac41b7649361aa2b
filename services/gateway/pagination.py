"""Keyset pagination of the list endpoints: newest first, with a cursor naming the last item seen.

A cursor is (created, id) of the last item of a page, so items added meanwhile never shift the next page
(they are newer, they come before it) and nothing is listed twice. It is written
`<created in UTC, YYYYMMDDTHHMMSSffffffZ>.<id>`: fixed-width times order as text in time order, so any
string of that shape (CURSOR_PATTERN, declared in the OpenAPI schema) is a position in the listing and is
answered, a page of the items older than it (possibly none); there is no cursor the schema admits that the
server refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from shared.jobs.paths import ID_PATTERN

T = TypeVar("T")
SortKey = tuple[datetime, str]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

_TIME_FORMAT = "%Y%m%dT%H%M%S%fZ"
CURSOR_PATTERN = r"^[0-9]{8}T[0-9]{12}Z\." + ID_PATTERN.removeprefix("^")
"""`next_cursor` of a page: the created time (UTC, microseconds) and id of its last item, '.' between."""


def _text_key(key: SortKey) -> tuple[str, str]:
    """The sort key as two strings that order like it (the time in UTC at a fixed width)."""
    created, item_id = key
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created.astimezone(UTC).strftime(_TIME_FORMAT), item_id


def encode_cursor(key: SortKey) -> str:
    """The cursor that resumes a listing after the item with this sort key."""
    created, item_id = _text_key(key)
    return f"{created}.{item_id}"


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The sort key (as text) a cursor carries; its shape was checked against CURSOR_PATTERN by the route."""
    created, _, item_id = cursor.partition(".")
    return created, item_id


def paginate(
    items: Sequence[T], key: Callable[[T], SortKey], limit: int, cursor: str | None
) -> tuple[list[T], str | None]:
    """The page of `items` (sorted newest first by `key`) after `cursor`, and the cursor of the next page."""
    after = decode_cursor(cursor) if cursor else None
    remaining = [item for item in items if after is None or _text_key(key(item)) < after]
    page = remaining[:limit]
    next_cursor = encode_cursor(key(page[-1])) if len(remaining) > limit else None
    return page, next_cursor
