"""CSV files that spreadsheets open as data, never as formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

# Spreadsheets run a cell that starts with one of these as a formula; a
# leading apostrophe makes them show the text instead (the usual defence
# against CSV injection, which OWASP describes).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Return ``value`` for a CSV cell: None as empty, formula text defused."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Write a header row and ``rows`` as CSV text with every cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()
