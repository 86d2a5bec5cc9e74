"""Reading the first sheet of an XLSX workbook as the same text a CSV export of it would hold.

Excel stores every number as a double and dates as typed cells, so cells are turned into text the one
SQL mapping of ``formats.py`` reads for every container: ``21.0`` becomes ``21`` (``2.5`` stays ``2.5``,
to be quarantined as not a whole number), a date ``2023-08-31``, a date and time ``2023-08-31T02:00:00``
(no offset: Melbourne time, as for any naive time), a formula its cached value (none: an empty cell).
Rows inside merged cells are quarantined with the range: which row a merged value belongs to is a guess.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook

from footfall.errors import InputError

Cell = int | float | str | bool | dt.date | dt.datetime | dt.time | dt.timedelta

ROW = "_row"  # the row number in the sheet, as Excel shows it
PROBLEM = "_problem"  # why a row cannot be read, set by the reader rather than the mapping


def _open_first(path: Path, shown: str | Path) -> tuple[str, CalamineSheet]:
    try:
        book = CalamineWorkbook.from_path(str(path))
        if not book.sheet_names:
            raise InputError("the workbook has no sheets", path=shown)
        return book.sheet_names[0], book.get_sheet_by_index(0)
    except (CalamineError, OSError, ValueError) as e:
        raise InputError(f"cannot read the workbook ({str(e).splitlines()[0][:200]})", path=shown) from None


def first_sheet_header(path: Path, shown: str | Path) -> tuple[str, tuple[str, ...]]:
    """The first sheet's name and its first non-empty row, as text."""
    name, sheet = _open_first(path, shown)
    rows = sheet.to_python(nrows=1)
    if not rows or not any(text(c) for c in rows[0]):
        raise InputError(f"the first sheet ({name!r}) is empty: footfall reads the data from the first sheet",
                         path=shown)
    header = tuple((text(c) or "").strip() for c in rows[0])
    while header and not header[-1]:
        header = header[:-1]
    first_row, left_edge = sheet.start or (0, 0)
    for (top, left), (bottom, right) in sheet.merged_cell_ranges or []:
        if top <= first_row <= bottom and left - left_edge < len(header):
            raise InputError(f"merged cells {_a1(top, left)}:{_a1(bottom, right)} in the header row of sheet "
                             f"{name!r}: unmerge them so every column has its own name", path=shown)
    return name, header


def text(cell: Cell) -> str | None:
    """A cell as the text a CSV export would hold; None for an empty cell."""
    if isinstance(cell, str):
        return cell or None
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() and abs(cell) < 2**53 else repr(cell)
    if isinstance(cell, dt.datetime):
        return cell.isoformat()
    return cell.isoformat() if isinstance(cell, dt.date | dt.time) else str(cell)


def read_sheet(path: Path, shown: str | Path, width: int) -> pa.Table:
    """The first sheet below its header: ``width`` text columns ``c0..``, the row number and, for rows inside
    merged cells, the problem."""
    name, sheet = _open_first(path, shown)
    start, left_edge = sheet.start or (0, 0)
    rows = sheet.to_python()[1:]
    columns: list[list[str | None]] = [[] for _ in range(width)]
    numbers: list[int] = []
    for offset, row in enumerate(rows, start + 2):
        cells = [text(c) for c in row[:width]]
        if not any(cells):
            continue  # a blank row, as a CSV reader skips an empty line
        cells += [None] * (width - len(cells))
        for column, cell in zip(columns, cells, strict=True):
            column.append(cell)
        numbers.append(offset)
    problems: list[str | None] = [None] * len(numbers)
    merged = [(top + 1, bottom + 1, f"{_a1(top, left)}:{_a1(bottom, right)}")
              for (top, left), (bottom, right) in sheet.merged_cell_ranges or [] if left - left_edge < width]
    if merged:
        for i, number in enumerate(numbers):
            hit = next((label for top, bottom, label in merged if top <= number <= bottom), None)
            if hit:
                problems[i] = f"in merged cells {hit} of the sheet (which row a merged value belongs to is unknown)"
    arrays = {f"c{i}": pa.array(column, pa.string()) for i, column in enumerate(columns)}
    return pa.table({**arrays, ROW: pa.array(numbers, pa.int64()), PROBLEM: pa.array(problems, pa.string())},
                    metadata={"sheet": name})


def _a1(row: int, column: int) -> str:
    """Zero-based coordinates in Excel's A1 notation.

    >>> _a1(0, 0), _a1(9, 27)
    ('A1', 'AB10')
    """
    letters = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"
