"""Reading the first sheet of an XLSX workbook as the same text a CSV export of it would hold.

Excel stores every number as a double and dates as typed cells, so cells are turned into text the one
SQL mapping of ``formats.py`` reads for every container: ``21.0`` becomes ``21`` (``2.5`` stays ``2.5``,
to be quarantined as not a whole number), a date ``2023-08-31``, a date and time ``2023-08-31T02:00:00``
(no offset: Melbourne time, as for any naive time), a formula its cached value (none: an empty cell).
Rows inside merged cells are quarantined with the range: which row a merged value belongs to is a guess.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import resource
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc
from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook

from footfall.errors import InputError

Cell = int | float | str | bool | dt.date | dt.datetime | dt.time | dt.timedelta

ROW = "_row"  # the row number in the sheet, as Excel shows it
PROBLEM = "_problem"  # why a row cannot be read, set by the reader rather than the mapping


# What the reader allocates is one cell for every position from A1 to the furthest cell present, whatever
# the sheet's <dimension> says: a single cell at XFD200000 asks for 3.3 billion (about 100 GB). Past this many
# the workbook is refused before it is read. 2**24 holds a full Excel sheet (1,048,576 rows) of 16 columns.
MAX_SHEET_CELLS = 2**24
_TAG = re.compile(rb"""<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*)>""")
_ATTRIBUTE = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF = re.compile(rb"\s*([A-Za-z]*)([0-9]*)\s*")
_ANY_REF = re.compile(rb"""\sr\s*=\s*["']\s*([A-Za-z]*)0*([0-9]+)\s*["']""")  # digits without leading 0s
_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:row|c)[\s/>]")


def sheet_extent(path: Path) -> tuple[int, int]:
    """The rows and columns from A1 to the furthest cell of the first sheet, streamed from its XML (no cell
    is kept). When every row and cell carries its reference, as writers write them, the largest references
    are found in bulk; otherwise each tag is followed in order, a row or cell without one placed after the one
    before, as readers place it. Text that only looks like a cell (a comment, CDATA) can make the extent
    larger, never smaller."""
    rows = columns = 0
    for data in _sheet_chunks(path):
        refs = _ANY_REF.findall(data)
        if len(refs) != len(_START.findall(data)):
            return _followed_extent(path)
        letters = [c for c, _ in refs if c]
        if letters:
            longest = max(map(len, letters))
            columns = max(columns, _column(max(c.upper() for c in letters if len(c) == longest).decode()) + 1)
        if refs:
            longest = max(len(r) for _, r in refs)
            rows = max(rows, int(max(r for _, r in refs if len(r) == longest)))
    return rows, columns


def _followed_extent(path: Path) -> tuple[int, int]:
    rows = columns = 0
    row = column = -1
    for data in _sheet_chunks(path):
        for tag, attributes in _TAG.findall(data):
            ref = next((a or b for name, a, b in _ATTRIBUTE.findall(attributes) if name == b"r"), b"")
            found = _REF.fullmatch(ref) if ref else None
            letters, digits = found.groups() if found else (b"", b"")
            if tag == b"row":
                row = int(digits) - 1 if digits else row + 1
                column = -1
                continue
            column = _column(letters.decode()) if letters else column + 1
            if digits:
                row = int(digits) - 1
            rows, columns = max(rows, row + 1), max(columns, column + 1)
    return rows, columns


def _sheet_chunks(path: Path) -> Iterator[bytes]:
    """The first sheet's XML in pieces of about a megabyte, each cut before a "<" (never inside a tag: XML
    forbids "<" in an attribute)."""
    with zipfile.ZipFile(path) as book, book.open(_first_sheet_part(book)[1]) as stream:
        rest = b""
        while chunk := stream.read(2**20):
            data = rest + chunk
            cut = data.rfind(b"<")
            cut = cut if cut >= 0 else len(data)
            data, rest = data[:cut], data[cut:]
            yield data
        yield rest


def _check_extent(path: Path, shown: str | Path) -> None:
    """Refuse a first sheet whose cells would need more memory than footfall gives a workbook."""
    try:
        rows, columns = sheet_extent(path)
    except (KeyError, StopIteration, ET.ParseError, zipfile.BadZipFile, OSError, ValueError) as e:
        raise InputError(f"cannot read the workbook ({e})", path=shown) from None
    if rows * columns > MAX_SHEET_CELLS:
        raise InputError(f"the first sheet spans A1:{_a1(rows - 1, columns - 1)} ({rows * columns:,} cells; "
                         f"footfall reads at most {MAX_SHEET_CELLS:,} from a workbook): delete stray cells far "
                         "from the data, or save the sheet as CSV and give that", path=shown)


def _open_first(path: Path, shown: str | Path) -> tuple[str, CalamineSheet]:
    try:
        book = CalamineWorkbook.from_path(str(path))
        if not book.sheet_names:
            raise InputError("the workbook has no sheets", path=shown)
        return book.sheet_names[0], book.get_sheet_by_index(0)
    except (CalamineError, OSError, ValueError) as e:
        raise InputError(f"cannot read the workbook ({str(e).splitlines()[0][:200]})", path=shown) from None


_COLUMNS = 16_384  # A..XFD
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def first_sheet_header(path: Path, shown: str | Path) -> tuple[str, tuple[str, ...]]:
    """The first sheet's name and its first non-empty row, as text, read from the start of the sheet's XML
    alone: recognising a workbook must not load every cell (a full read happens once, when it is parsed)."""
    try:
        with zipfile.ZipFile(path) as book:
            name, part = _first_sheet_part(book)
            cells = _first_row(book, part)
            header = tuple(_shared(book, cells) if cells else ())
    except (KeyError, StopIteration, ET.ParseError, zipfile.BadZipFile, OSError, ValueError) as e:
        raise InputError(f"cannot read the workbook ({e})", path=shown) from None
    while header and not header[-1]:
        header = header[:-1]
    if not header:
        raise InputError(f"the first sheet ({name!r}) is empty: footfall reads the data from the first sheet",
                         path=shown)
    return name, header


def _first_sheet_part(book: zipfile.ZipFile) -> tuple[str, str]:
    """The first sheet's name and the path of its XML inside the zip."""
    workbook = ET.fromstring(book.read("xl/workbook.xml"))  # noqa: S314 - expat refuses entity bombs; no DTDs
    sheet = workbook.find(f"{_MAIN}sheets/{_MAIN}sheet")
    if sheet is None:
        raise ValueError("the workbook has no sheets")
    rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))  # noqa: S314
    target = next(r.get("Target", "") for r in rels if r.get("Id") == sheet.get(_RID))
    return sheet.get("name", ""), target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def has_data_rows(path: Path) -> bool:
    """Whether the first sheet holds a row with a value below its header, read from the start of its XML."""
    with zipfile.ZipFile(path) as book:
        return len(_first_rows(book, _first_sheet_part(book)[1], 2)) == 2


def _first_row(book: zipfile.ZipFile, part: str) -> list[tuple[str, str]]:
    rows = _first_rows(book, part, 1)
    return rows[0] if rows else []


def _first_rows(book: zipfile.ZipFile, part: str, wanted: int) -> list[list[tuple[str, str]]]:
    """The first ``wanted`` rows holding a value: ``(type, value)`` of each cell, by column; a shared
    string's value is its index."""
    found: list[list[tuple[str, str]]] = []
    with book.open(part) as stream:
        for _, element in ET.iterparse(stream):  # noqa: S314
            if element.tag != f"{_MAIN}row":
                continue
            row: list[tuple[str, str]] = []
            for cell in element.iter(f"{_MAIN}c"):
                column = _column(cell.get("r", "")) if cell.get("r") else len(row)
                if column >= _COLUMNS:
                    raise ValueError(f"a cell past column XFD, the last a sheet has ({cell.get('r')!r})")
                row += [("", "")] * (column - len(row))
                kind = cell.get("t", "n")
                value = cell.find(f"{_MAIN}v")
                text_ = ("".join(t.text or "" for t in cell.iter(f"{_MAIN}t")) if kind == "inlineStr"
                         else value.text or "" if value is not None else "")
                row.append((kind, text_))
            if any(v for _, v in row):
                found.append(row)
                if len(found) == wanted:
                    break
            element.clear()
    return found


def _shared(book: zipfile.ZipFile, cells: list[tuple[str, str]]) -> list[str]:
    """The cells' text, shared strings looked up (read only as far as the largest index needed)."""
    wanted = [int(v) for kind, v in cells if kind == "s" and v]
    strings: list[str] = []
    if wanted:
        with book.open("xl/sharedStrings.xml") as stream:
            for _, element in ET.iterparse(stream):  # noqa: S314
                if element.tag == f"{_MAIN}si":
                    strings.append("".join(t.text or "" for t in element.iter(f"{_MAIN}t")))
                    element.clear()
                    if len(strings) > max(wanted):
                        break
    return [(strings[int(v)] if kind == "s" and v else v).strip() for kind, v in cells]


def _column(reference: str) -> int:
    """The zero-based column of an A1 reference.

    >>> _column("A1"), _column("AB10")
    (0, 27)
    """
    number = 0
    for letter in reference:
        if not letter.isalpha():
            break
        number = number * 26 + ord(letter.upper()) - 64
    return number - 1


def _check_header(name: str, sheet: CalamineSheet, header_row: int, width: int, shown: str | Path) -> None:
    for (top, left), (bottom, right) in sheet.merged_cell_ranges or []:
        if top <= header_row <= bottom and left < width:
            raise InputError(f"merged cells {_a1(top, left)}:{_a1(bottom, right)} in the header row of sheet "
                             f"{name!r}: unmerge them so every column has its own name", path=shown)


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
    merged cells, the problem.

    Read in a child process: the reader trusts sizes the file declares (a shared-string count of four
    billion asks for 96 GB) and aborts its whole process when it cannot have them. A child that dies takes
    only itself down, and the workbook is refused in one line."""
    _check_extent(path, shown)
    done = subprocess.run([sys.executable, "-m", "footfall.melbourne.workbook", str(path), str(width)],
                          capture_output=True, check=False,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})
    if done.returncode == _REFUSED:
        raise InputError(done.stderr.decode("utf-8", "backslashreplace").strip(), path=shown)
    if done.returncode:
        said = [line for line in done.stderr.decode("utf-8", "backslashreplace").splitlines() if line.strip()]
        how = (f"was killed by {signal.Signals(-done.returncode).name}" if done.returncode < 0 else
               f"failed ({said[-1].strip()[:200] if said else done.returncode})")
        raise InputError(f"the workbook's reader {how}, likely asking for more memory than the machine has "
                         f"({_memory() / 2**30:,.0f} GB): save the first sheet as CSV and give that", path=shown)
    return pa.ipc.open_stream(done.stdout).read_all()


_REFUSED = 3  # the child's exit code for a workbook it refuses, its one line on stderr


def _memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _child(arguments: list[str]) -> int:
    """``read_sheet``'s child: the table as an Arrow stream on stdout. Its address space is capped at the
    machine's memory (or the cap it was given, if lower), so a size no machine here could give fails at once
    instead of swapping."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (_memory() if soft == resource.RLIM_INFINITY else min(_memory(), soft),
                                            hard))
    path, width = Path(arguments[0]), int(arguments[1])
    try:
        table = _read_sheet(path, path, width)
    except InputError as e:
        sys.stderr.write(e.message)
        return _REFUSED
    with pa.ipc.new_stream(sys.stdout.buffer, table.schema) as stream:
        stream.write_table(table)
    return 0


def _read_sheet(path: Path, shown: str | Path, width: int) -> pa.Table:
    name, sheet = _open_first(path, shown)
    rows = sheet.to_python(skip_empty_area=False)
    header_row = next((i for i, row in enumerate(rows) if any(c != "" for c in row)), len(rows))
    _check_header(name, sheet, header_row, width, shown)
    numbers = [i for i, row in enumerate(rows[header_row + 1:], header_row + 2) if row[:width].count("") < width]
    kept = [rows[n - 1] for n in numbers]  # a blank row is skipped, as a CSV reader skips one
    columns = list(zip(*kept, strict=False)) if kept else []
    arrays = {f"c{i}": _texts(columns[i]) if i < len(columns) else pa.nulls(len(kept), pa.string())
              for i in range(width)}
    merged = [(top + 1, bottom + 1, f"{_a1(top, left)}:{_a1(bottom, right)}")
              for (top, left), (bottom, right) in sheet.merged_cell_ranges or [] if left < width]
    problems = [next((f"in merged cells {label} of the sheet (which row a merged value belongs to is unknown)"
                      for top, bottom, label in merged if top <= number <= bottom), None) if merged else None
                for number in numbers]
    return pa.table({**arrays, ROW: pa.array(numbers, pa.int64()), PROBLEM: pa.array(problems, pa.string())})


def _texts(column: tuple[Cell, ...]) -> pa.Array:
    """A column's cells as text. A column of only text or only numbers (nearly every one) is converted at
    once; a mixed one cell by cell."""
    kinds = set(map(type, column))
    if kinds <= {str}:
        return pa.array([c or None for c in column], pa.string())
    if kinds <= {float, int}:
        numbers = pa.array(column, pa.float64())
        whole = pc.and_(pc.equal(pc.trunc(numbers), numbers), pc.less(pc.abs(numbers), 2.0**53))
        as_whole = pc.cast(pc.cast(pc.if_else(whole, numbers, 0.0), pa.int64()), pa.string())
        return pc.if_else(whole, as_whole, pa.array([None if w else text(c) for c, w in zip(
            column, whole.to_pylist(), strict=True)], pa.string()) if not pc.all(whole).as_py() else as_whole)
    return pa.array([(c or None) if type(c) is str else text(c) for c in column], pa.string())


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


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
