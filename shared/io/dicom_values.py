"""Typed values from DICOM headers, and the one boundary where pydicom's errors become ours.

pydicom parses element values lazily, on first access, and what it raises for a malformed file is whatever
the underlying conversion raises (ValueError, TypeError, KeyError, IndexError, struct.error, OverflowError,
NotImplementedError for an unknown VR, UnicodeError, ...): the set is neither documented nor stable across
versions. So every step that touches one file's header or pixels runs inside `library_errors`, which turns
any error that is not already one of ours into an UnreadableVolumeError naming that file (the member, in a
zip); and the values the reader interprets go through `one_number` / `one_integer`, whose messages say which
attribute is wrong and how.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag

from shared.errors import FetalDenoiseError, UnreadableVolumeError
from shared.io.limits import library_detail


def _detail(exc: BaseException, path: Path | None, label: str) -> str:
    """The library's message (the stored path replaced by the label), or the error's class when it has none."""
    text = (library_detail(exc, path, label) if path is not None else str(exc)).strip()
    if len(text) > 160 and ". " in text:
        # pydicom's longer messages go on with advice about its own settings; the first sentence is the problem.
        text = text.split(". ", 1)[0] + "."
    return text or type(exc).__name__


@contextmanager
def library_errors(
    label: str, path: Path | None = None, what: str = "cannot be read as DICOM"
) -> Iterator[None]:
    """Turn any non-project error raised inside into UnreadableVolumeError('<label>: <what> (<detail>)')."""
    try:
        yield
    except (FetalDenoiseError, MemoryError):
        raise
    except Exception as exc:  # see the module docstring: pydicom's error types are not a closed set
        raise UnreadableVolumeError(f"{label}: {what} ({_detail(exc, path, label)})") from exc


def tag_name(tag: BaseTag) -> str:
    """`(0018,0050) SliceThickness`, or just the tag for private and unknown elements."""
    keyword = keyword_for_tag(tag)
    return f"{tag} {keyword}" if keyword else str(tag)


def parse_all(ds: Dataset, label: str) -> list[str]:
    """Decode every element (nested sequences too), so a malformed value is dealt with now, by name.

    A public element that cannot be decoded is refused (UnreadableVolumeError naming it). A private one is
    removed instead, and its tag returned: vendors' private elements are often malformed in real files, this
    project never interprets them (a mosaic's CSA header is parsed separately, and a mosaic without a readable
    one is refused), and a derived series cannot copy what cannot be decoded. Without this pass a broken value
    would surface later, wherever it is first touched: in the worker, or when the derived series is written.
    """
    dropped: list[str] = []
    for tag in list(ds.keys()):
        try:
            element = ds[tag]
            items = element.value if element.VR == "SQ" else ()
        except (FetalDenoiseError, MemoryError):
            raise
        except Exception as exc:  # see the module docstring
            if BaseTag(tag).is_private:
                del ds[tag]
                dropped.append(str(BaseTag(tag)))
                continue
            raise UnreadableVolumeError(
                f"{label}: attribute {tag_name(BaseTag(tag))} cannot be read ({_detail(exc, None, label)})"
            ) from exc
        for item in items or ():
            dropped.extend(parse_all(item, label))
    return dropped


def _shown(value: Any) -> str:
    """A value as DICOM writes it (backslash between values), cut to a readable length."""
    text = "\\".join(str(v) for v in value) if isinstance(value, MultiValue | list | tuple) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def one_number(value: Any, keyword: str, label: str) -> float | None:
    """A single finite number from an element's value; None when absent or empty.

    Several values ('1\\2') or a non-number ('ab') is an UnreadableVolumeError naming the attribute.
    """
    if value is None or (isinstance(value, str | bytes) and not value.strip()):
        return None
    if isinstance(value, MultiValue | list | tuple):
        if len(value) == 0:
            return None
        if len(value) != 1:
            raise UnreadableVolumeError(
                f"{label}: {keyword} has {len(value)} values ('{_shown(value)}'); one number is expected"
            )
        value = value[0]
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise UnreadableVolumeError(f"{label}: {keyword} is not a number ('{_shown(value)}')") from exc
    if not math.isfinite(number):
        raise UnreadableVolumeError(f"{label}: {keyword} is not a finite number ('{_shown(value)}')")
    return number


def one_integer(value: Any, keyword: str, label: str) -> int | None:
    """A single integer from an element's value; None when absent or empty; refused like `one_number`."""
    number = one_number(value, keyword, label)
    if number is None:
        return None
    if number != int(number):
        raise UnreadableVolumeError(f"{label}: {keyword} is not an integer ('{_shown(value)}')")
    return int(number)


def numbers(value: Any, keyword: str, count: int, label: str) -> tuple[float, ...] | None:
    """Exactly `count` finite numbers (e.g. ImageOrientationPatient: 6); None when absent or empty."""
    if value is None or (isinstance(value, str | bytes) and not value.strip()):
        return None
    values = list(value) if isinstance(value, MultiValue | list | tuple) else [value]
    if not values:
        return None
    if len(values) != count:
        raise UnreadableVolumeError(
            f"{label}: {keyword} has {len(values)} values ('{_shown(value)}'); {count} numbers are expected"
        )
    result = tuple(one_number(v, keyword, label) for v in values)
    if any(v is None for v in result):
        raise UnreadableVolumeError(f"{label}: {keyword} has an empty value ('{_shown(value)}')")
    return tuple(float(v) for v in result if v is not None)
