"""Keyset pagination of the list endpoints: newest first, with an opaque cursor naming the last item seen.

A cursor is (created, id) of the last item of a page, so items added meanwhile never shift the next page
(they are newer, they come before it) and nothing is listed twice.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from services.gateway.client_json import loads_client_json
from shared.errors import InputError

T = TypeVar("T")
SortKey = tuple[datetime, str]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def encode_cursor(key: SortKey) -> str:
    """The cursor that resumes a listing after the item with this sort key."""
    created, item_id = key
    raw = json.dumps([created.isoformat(), item_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> SortKey:
    """The sort key a cursor carries; anything this server did not hand out is refused (422)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, item_id = loads_client_json(raw.decode(), "cursor", InputError)
        key = (datetime.fromisoformat(created), str(item_id))
    except (binascii.Error, ValueError, TypeError, InputError) as exc:
        raise InputError("cursor: not a cursor from this listing; start again without one") from exc
    if key[0].tzinfo is None:
        raise InputError("cursor: not a cursor from this listing; start again without one")
    return key


def paginate(
    items: Sequence[T], key: Callable[[T], SortKey], limit: int, cursor: str | None
) -> tuple[list[T], str | None]:
    """The page of `items` (sorted newest first by `key`) after `cursor`, and the cursor of the next page."""
    after = decode_cursor(cursor) if cursor else None
    remaining = [item for item in items if after is None or key(item) < after]
    page = remaining[:limit]
    next_cursor = encode_cursor(key(page[-1])) if len(remaining) > limit else None
    return page, next_cursor
