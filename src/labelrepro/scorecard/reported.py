"""Reported numbers and claims of one target, read from `paper/reported/<target>.yaml`.

The files are data typed from the seeds; `check_against_seed` ties every entry to the seed text (its
verbatim `text` fragment must be in the seed, and a number's printed value must be in that fragment), so
a typo in a number is a failing test rather than a wrong verdict.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from labelrepro.core.config import ConfigError
from labelrepro.paths import REPO_ROOT

REPORTED_DIR = REPO_ROOT / "paper" / "reported"
SEEDS_DIR = REPO_ROOT.parent / "shared" / "seeds"
MAX_TEXT = 80


@dataclass(frozen=True)
class Selector:
    """The aggregate rows (column -> value filters) and the column one reported quantity refers to.

    The measured value is the mean of `metric` over the matching rows and its spread their std; where the
    aggregate already holds one row per configuration with its own spread column (e.g. the std over
    splits), `std` names that column.
    """

    rows: dict[str, Any]
    metric: str
    std: str | None = None


@dataclass(frozen=True)
class TableCell:
    """Where a number sits in a seed's table: the header line that starts the table (a unique
    whitespace-normalised substring), the row's label (first tab-separated field, as printed) and the
    column (1 = the first field after the label); `nth` picks the n-th row with that label (tables
    that repeat a label such as "+ AC")."""

    header: str
    row: str
    column: int
    nth: int = 1


@dataclass(frozen=True)
class Number:
    """One printed number: value (± err) in the paper's unit, `scale` × the aggregate metric."""

    id: str
    where: str
    text: str | None
    value: float
    err: float | None
    select: Selector
    table: TableCell | None = None
    scale: float = 1.0
    direction_vs: str | None = None     # another number's id: the comparison the paper draws
    not_comparable: str | None = None   # why this number cannot be compared (a reading in decisions.md)


@dataclass(frozen=True)
class Claim:
    """A qualitative statement of the paper as an expression over named aggregate means."""

    id: str
    where: str
    text: str
    statement: str
    values: dict[str, Selector]
    holds: str
    not_comparable: str | None = None


@dataclass(frozen=True)
class Reported:
    target: str
    seed: str
    numbers: tuple[Number, ...] = ()
    claims: tuple[Claim, ...] = field(default=())

    @property
    def seed_path(self) -> Path:
        return SEEDS_DIR / self.seed


def _selector(raw: Any, where: str) -> Selector:
    if not isinstance(raw, dict) or not isinstance(raw.get("rows", {}), dict) or "metric" not in raw:
        raise ConfigError(f"{where}: needs `rows: {{column: value}}` and `metric: <column>`")
    return Selector(dict(raw.get("rows", {})), str(raw["metric"]), raw.get("std"))


def _require(entry: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    missing = [key for key in keys if key not in entry]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)} (format: docs/scorecard.md)")


def load_reported(path: str | Path) -> Reported:
    """Parse and validate one reported-numbers file (clear errors naming the file and entry)."""
    path = Path(path)
    raw = yaml.safe_load(path.read_text()) or {}
    _require(raw, ("target", "seed"), str(path))
    numbers, claims, ids = [], [], set()
    for i, entry in enumerate(raw.get("numbers") or []):
        where = f"{path} numbers[{i}]"
        _require(entry, ("id", "where", "value", "rows", "metric"), where)
        if ("text" in entry) == ("table" in entry):
            raise ConfigError(f"{where}: give exactly one of `text` (a fragment) and `table` (a table cell)")
        table = None
        if "table" in entry:
            _require(entry["table"], ("header", "row", "column"), f"{where} table")
            table = TableCell(str(entry["table"]["header"]), str(entry["table"]["row"]),
                              int(entry["table"]["column"]), int(entry["table"].get("nth", 1)))
        numbers.append(Number(
            id=str(entry["id"]), where=str(entry["where"]),
            text=None if table else str(entry["text"]), table=table,
            value=float(entry["value"]), err=None if entry.get("err") is None else float(entry["err"]),
            select=_selector(entry, where), scale=float(entry.get("scale", 1.0)),
            direction_vs=entry.get("direction_vs"), not_comparable=entry.get("not_comparable"),
        ))
    for i, entry in enumerate(raw.get("claims") or []):
        where = f"{path} claims[{i}]"
        _require(entry, ("id", "where", "text", "statement", "values", "holds"), where)
        values = {name: _selector(sel, f"{where} values.{name}") for name, sel in entry["values"].items()}
        check_expression(entry["holds"], set(values), where)
        claims.append(Claim(
            id=str(entry["id"]), where=str(entry["where"]), text=str(entry["text"]),
            statement=str(entry["statement"]), values=values, holds=str(entry["holds"]),
            not_comparable=entry.get("not_comparable"),
        ))
    for entry in [*numbers, *claims]:
        if entry.id in ids:
            raise ConfigError(f"{path}: id {entry.id!r} is used twice")
        ids.add(entry.id)
    for number in numbers:
        if number.direction_vs is not None and number.direction_vs not in {n.id for n in numbers}:
            raise ConfigError(f"{path}: {number.id}.direction_vs names no number ({number.direction_vs!r})")
    if not numbers and not claims:
        raise ConfigError(f"{path}: lists no numbers and no claims")
    return Reported(str(raw["target"]), str(raw["seed"]), tuple(numbers), tuple(claims))


def reported_path(target: str) -> Path:
    return REPORTED_DIR / f"{target}.yaml"


# -- the `holds` expressions: arithmetic, comparisons and boolean logic over named values only --------

_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Compare, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq,
    ast.NotEq, ast.Name, ast.Load, ast.Constant, ast.Call,
)
_FUNCTIONS = {"abs": abs, "min": min, "max": max}


def check_expression(expression: str, names: set[str], where: str) -> ast.Expression:
    """Parse `expression`, allowing only arithmetic, comparisons, and/or/not, abs/min/max and `names`."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"{where}: `holds` is not an expression: {exc.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ConfigError(f"{where}: `holds` may not use {type(node).__name__}")
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
        ):
            raise ConfigError(f"{where}: `holds` may call only {', '.join(_FUNCTIONS)}")
        if isinstance(node, ast.Name) and node.id not in names and node.id not in _FUNCTIONS:
            raise ConfigError(f"{where}: `holds` uses {node.id!r}, which `values` does not define")
    return tree


def evaluate(expression: str, values: dict[str, float]) -> bool:
    """The truth of a checked `holds` expression for the given named values."""
    tree = check_expression(expression, set(values), "holds")
    code = compile(tree, "<holds>", "eval")
    return bool(eval(code, {"__builtins__": {}, **_FUNCTIONS}, dict(values)))  # the AST was checked above


# -- the seed check ---------------------------------------------------------------------------------

def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _printed_forms(value: float) -> list[str]:
    """How a number may be printed: 92, 92.0, 92.00, .92 style fractions are the file's job to match."""
    forms = {f"{value:g}"}
    for digits in range(0, 4):
        forms.add(f"{value:.{digits}f}")
    return sorted(forms, key=len, reverse=True)


def _contains_number(text: str, value: float) -> bool:
    return any(re.search(rf"(?<![\d.]){re.escape(form)}(?![\d])", text) for form in _printed_forms(value))


_PM = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:\\pm|±)\s*(\d+(?:\.\d+)?)")


def table_field(seed_text: str, cell: TableCell) -> str:
    """The printed field of `cell` in the seed: the table under its header line, its row, its column."""
    lines = seed_text.splitlines()
    starts = [i for i, line in enumerate(lines) if cell.header in _normalise(line)]
    if len(starts) != 1:
        raise LookupError(f"table header {cell.header!r} occurs {len(starts)} times in the seed (need 1)")
    seen = 0
    for line in lines[starts[0] + 1:]:
        fields = [f.strip() for f in line.split("\t")]
        seen += fields[0] == cell.row
        if fields[0] == cell.row and seen == cell.nth:
            if cell.column >= len(fields):
                raise LookupError(f"row {cell.row!r} under {cell.header!r} has no column {cell.column}")
            return fields[cell.column]
        if not line.strip() or line.startswith("Table"):
            break
    raise LookupError(f"no row {cell.row!r} in the table under {cell.header!r}")


def parse_value_err(field: str) -> tuple[float, float | None]:
    """`93.3 ± 0.2` or `$\\textbf{93.3} \\pm \\textbf{0.2}$` -> (93.3, 0.2); a bare number -> (x, None)."""
    plain = re.sub(r"\\textbf\{([^}]*)\}", r"\1", field).replace("$", "")
    match = _PM.search(plain)
    if match:
        return float(match.group(1)), float(match.group(2))
    numbers = re.findall(r"-?\d+(?:\.\d+)?", plain)
    if len(numbers) != 1:
        raise ValueError(f"cannot read a number from {field!r}")
    return float(numbers[0]), None


def check_against_seed(reported: Reported, seed_text: str) -> list[str]:
    """Problems tying `reported` to its seed: fragments not in the seed, values not in their fragment,
    table numbers that differ from the seed's table cell."""
    seed = _normalise(seed_text)
    problems = []
    for entry in [*reported.numbers, *reported.claims]:
        if entry.text is None:
            continue
        text = _normalise(entry.text)
        if len(text) > MAX_TEXT:
            problems.append(f"{entry.id}: `text` is longer than {MAX_TEXT} characters (an anchor)")
        if text not in seed:
            problems.append(f"{entry.id}: `text` {text!r} is not in {reported.seed}")
    for number in reported.numbers:
        if number.table is not None:
            try:
                value, err = parse_value_err(table_field(seed_text, number.table))
            except (LookupError, ValueError) as exc:
                problems.append(f"{number.id}: {exc}")
                continue
            if value != number.value or err != number.err:
                problems.append(f"{number.id}: the seed's table prints {value:g} ± {err}, the file says "
                                f"{number.value:g} ± {number.err}")
            continue
        text = _normalise(number.text or "")
        if not _contains_number(text, number.value):
            problems.append(f"{number.id}: value {number.value:g} is not printed in {text!r}")
        if number.err is not None and not _contains_number(text, number.err):
            problems.append(f"{number.id}: ± {number.err:g} is not printed in {text!r}")
    return problems
