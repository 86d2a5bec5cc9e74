"""``pipeline.yml``: the declarative half of a pipeline, validated before anything runs.

YAML is loaded with the safe loader only (no tag ever builds an object), and every name that
will reach SQL -- tables, columns, option keys -- must be a plain identifier. Validation errors
name the file and the line of the offending key.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import re
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, get_args

import sqlglot
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlglot import exp

from footfall.errors import SpecError

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
Zone = Literal["landing", "transformed", "curated"]
ZONES: tuple[Zone, ...] = get_args(Zone)
PUBLISHED = ".published"  # the marker a lake's root holds once a run has published into it
POINTER = "_current.json"  # an object lake's published state, at its root
Materialize = Literal["table", "view"]


def identifier(value: str) -> str:
    """Accept only names that are safe to quote into SQL and to use as file names.

    >>> identifier("hourly_counts")
    'hourly_counts'
    >>> identifier("x; drop table y")
    Traceback (most recent call last):
    ...
    ValueError: 'x; drop table y' is not a plain identifier (letters, digits, _)
    """
    if not IDENTIFIER.match(value):
        raise ValueError(f"{value!r} is not a plain identifier (letters, digits, _)")
    return value


def relative_path(value: str) -> str:
    """Keep config paths inside their root: relative, no ``..``, no scheme.

    >>> relative_path("landing/counts/*.csv")
    'landing/counts/*.csv'
    >>> relative_path("../etc/passwd")
    Traceback (most recent call last):
    ...
    ValueError: path '../etc/passwd' must stay inside its root (relative, no '..')
    """
    posix = PurePosixPath(value.replace("\\", "/"))
    if not value or posix.is_absolute() or ".." in posix.parts or ":" in value:
        raise ValueError(f"path {value!r} must stay inside its root (relative, no '..')")
    return value


TEMPORARY_SUFFIXES = (".part", ".tmp", ".link")


def output_path(value: str) -> str:
    """An output's place inside its zone, normalised: a file or folder below the zone's top, never the zone
    itself, and no name starting with ``_`` or ``.`` (the lake's own ``_staging``, ``_versions``, markers and
    temporary files; Spark, Athena and the S3 push skip such names too).

    >>> output_path("./answers//top.csv")
    'answers/top.csv'
    >>> output_path("./")
    Traceback (most recent call last):
    ...
    ValueError: output path './' is the zone itself: name a file or folder inside it
    """
    relative_path(value)
    parts = [p for p in PurePosixPath(value.replace("\\", "/")).parts if p != "."]
    if not parts:
        raise ValueError(f"output path {value!r} is the zone itself: name a file or folder inside it")
    for part in parts:
        if part.startswith(("_", ".")):
            raise ValueError(f"output path {value!r}: {part!r} starts with {part[0]!r}, which the lake reserves "
                             "for its own files")
        if part.strip() != part or not part.strip():
            raise ValueError(f"output path {value!r}: {part!r} starts or ends with white space")
    if parts[-1].endswith(TEMPORARY_SUFFIXES):
        raise ValueError(f"output path {value!r} ends like a temporary file ({', '.join(TEMPORARY_SUFFIXES)})")
    return "/".join(parts)


def overlaps(a: str, b: str) -> bool:
    """Whether two lake paths (globs allowed) name the same place or one lies inside the other.

    >>> overlaps("curated/a", "curated/a/b.parquet"), overlaps("curated/a.csv", "curated/ab.csv")
    (True, False)
    >>> overlaps("landing/counts/*.csv", "landing/counts/x.csv"), overlaps("transformed/**", "transformed/x")
    (True, True)
    """
    left, right = _parts(a), _parts(b)
    for x, y in zip(left, right, strict=False):
        if "**" in (x, y):
            return True
        if not (x == y or fnmatch.fnmatchcase(x, y) or fnmatch.fnmatchcase(y, x)):
            return False
    return True


@functools.lru_cache(maxsize=4096)
def _parts(path: str) -> tuple[str, ...]:
    """A path's parts without ``.``: every pair of outputs is compared, so each path is split once."""
    return tuple(p for p in PurePosixPath(path).parts if p != ".")


def sql_type(value: str) -> str:
    """A column type that sqlglot understands, normalised to upper case."""
    try:
        return exp.DataType.build(value, dialect="duckdb").sql("duckdb")
    except (sqlglot.errors.ParseError, ValueError) as e:
        raise ValueError(f"{value!r} is not a SQL type") from e


Ident = Annotated[str, AfterValidator(identifier)]
RelPath = Annotated[str, AfterValidator(relative_path)]
OutputPath = Annotated[str, AfterValidator(output_path)]
SqlType = Annotated[str, AfterValidator(sql_type)]
Scalar = str | int | float | bool


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Model):
    """A file, glob or directory read as one table."""

    path: RelPath
    format: Literal["csv", "json", "parquet"]
    root: Literal["lake", "pipeline"] = "lake"
    options: dict[Ident, Scalar] = Field(default_factory=dict)
    columns: dict[Ident, SqlType] | None = None
    required: bool = True
    description: str = ""

    @model_validator(mode="after")
    def _optional_needs_schema(self) -> Source:
        if not self.required and not self.columns:
            raise ValueError("a source with required: false needs `columns`, to be empty with a schema")
        return self


class AcceptedValues(_Model):
    column: Ident
    values: list[Scalar]


class Range(_Model):
    column: Ident
    min: int | float | None = None
    max: int | float | None = None


class RowCount(_Model):
    min: int | None = None
    max: int | None = None


CheckKind = Literal["not_null", "unique", "accepted_values", "range", "row_count", "sql"]
CHECK_KINDS: tuple[CheckKind, ...] = get_args(CheckKind)


class Check(_Model):
    """One data check; exactly one kind is set. Blocking unless ``severity: warn``."""

    not_null: list[Ident] | None = None
    unique: list[Ident] | None = None
    accepted_values: AcceptedValues | None = None
    range: Range | None = None
    row_count: RowCount | None = None
    sql: str | None = None
    severity: Literal["error", "warn"] = "error"
    name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _columns_as_list(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("not_null", "unique"):
                if isinstance(data.get(key), str):
                    data = {**data, key: [data[key]]}
        return data

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Check:
        kinds = [k for k in CHECK_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"a check needs exactly one of {', '.join(CHECK_KINDS)}; got {kinds or 'none'}")
        return self

    @property
    def kind(self) -> CheckKind:
        return next(k for k in CHECK_KINDS if getattr(self, k) is not None)


class Step(_Model):
    """Settings for ``sql/<name>.sql``; every field is optional."""

    materialize: Materialize = "table"
    description: str = ""
    checks: list[Check] = Field(default_factory=list)


class Output(_Model):
    """A table written to a zone of the lake."""

    table: Ident
    zone: Zone
    format: Literal["parquet", "csv"] = "parquet"
    path: OutputPath | None = None
    partition_by: list[Ident] = Field(default_factory=list)
    order_by: list[Ident] = Field(default_factory=list)  # also makes the files' bytes stable across runs
    overwrite: Literal["all", "partitions"] = "all"

    @model_validator(mode="after")
    def _csv_is_flat(self) -> Output:
        if self.format == "csv" and self.partition_by:
            raise ValueError("CSV outputs are single files: partition_by needs format parquet")
        if self.overwrite == "partitions" and not self.partition_by:
            raise ValueError("overwrite: partitions needs partition_by")
        return self

    @property
    def relpath(self) -> str:
        """Where the output lands inside its zone: a directory when partitioned, else a file."""
        if self.path:
            return self.path
        return self.table if self.partition_by else f"{self.table}.{self.format}"


class View(_Model):
    """A catalog view over the published tables (``views/<name>.sql``): a join people would otherwise
    repeat in every query, kept in the catalog instead of as a copy of the data."""

    description: str = ""


class PipelineSpec(_Model):
    name: Ident
    description: str = ""
    sources: dict[Ident, Source] = Field(default_factory=dict)
    steps: dict[Ident, Step] = Field(default_factory=dict)
    outputs: list[Output] = Field(default_factory=list)
    views: dict[Ident, View] = Field(default_factory=dict)
    checks: dict[Ident, list[Check]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _outputs_apart(self) -> PipelineSpec:
        """Publishing an output replaces what is at its path: no output may hold another, nor an input.
        A source may name an output's exact path, to read what the last run published there."""
        for i, out in enumerate(self.outputs):
            where = f"{out.zone}/{out.relpath}"
            for other in self.outputs[:i]:
                if other.zone == out.zone and overlaps(other.relpath, out.relpath):
                    raise ValueError(f"outputs {other.table} ({other.zone}/{other.relpath}) and {out.table} "
                                     f"({where}) overlap: one would replace the other")
            for name, source in self.sources.items():
                path = "/".join(p for p in PurePosixPath(source.path).parts if p != ".")
                if source.root == "lake" and path != where and overlaps(path, where):
                    raise ValueError(f"output {out.table} ({where}) overlaps source {name} ({source.path}): "
                                     "publishing it would replace input files (a source may read an output "
                                     "only by its exact path)")
        return self


def load_spec(path: Path) -> PipelineSpec:
    """Read and validate ``pipeline.yml``, raising a ``SpecError`` that names file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("no such file (a pipeline directory needs pipeline.yml)", path=path) from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"cannot read: {e}", path=path) from None
    try:
        data = _load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise SpecError(f"invalid YAML: {e.problem or e.context}", path=path,
                        line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as e:
        raise SpecError(f"invalid YAML: {e}", path=path) from None
    if not isinstance(data, dict):
        raise SpecError("expected a mapping with name, sources, steps, outputs", path=path, line=1)
    try:
        return PipelineSpec.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = [str(p) for p in err["loc"]]
        where = ".".join(loc) or "pipeline"
        message = err["msg"].removeprefix("Value error, ")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raise SpecError(f"{where}: {message}", path=path, line=_line_of(node, err["loc"])) from None


def _load(text: str) -> Any:
    """libyaml's safe loader when PyYAML has it, five times faster; a text it refuses is read again by the
    Python loader, so an error is in that loader's words."""
    if yaml.__with_libyaml__:
        with contextlib.suppress(yaml.YAMLError):
            return yaml.load(text, Loader=yaml.CSafeLoader)
    return yaml.safe_load(text)


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the deepest YAML node that ``loc`` reaches."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == key), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line
