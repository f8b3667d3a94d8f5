"""Formula neutralisation: cells a spreadsheet would run.

A text cell starting with = + - @ tab or carriage return gets a leading apostrophe (`neutralize_cell`),
unless the whole cell is a plain decimal number ("-1", "+0.5", "-3e-2"): a spreadsheet reads that as a
number, not a formula, so numeric data stays numeric whether it is typed as a number or held as text.
The `csv` export and the app's table downloads neutralise every cell and header (`neutralize_frame`).
The machine formats (manifest, RAF-DB list, FERPlus CSV) are read by training code: they hold no
reviewer-typed text (no notes, no reviewer names), and their identifiers (sample_id, path, file names,
labels) cannot take an apostrophe, which would break image lookup and audit keys. So the two
spreadsheet-facing dataset formats (the RAF-DB list and FERPlus's CSV) refuse a file name or Usage cell
that a spreadsheet would run (`refuse_formulas`: the export stops with the sample named); the manifest,
a dataset folder for the trainer, is written verbatim."""
from __future__ import annotations

import re
from typing import Any, Iterable

import pandas as pd

from data_tools.export.errors import ExportError

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\Z")


def neutralize_cell(value: Any) -> Any:
    """Prefix an apostrophe to a text cell a spreadsheet would run as a formula; numbers pass."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def neutralize_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell and header neutralised; numeric, bool and datetime columns untouched."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
                or pd.api.types.is_datetime64_any_dtype(s)):
            continue
        try:
            risky = s.str.startswith(_FORMULA_START, na=False).to_numpy(dtype=bool)
        except AttributeError:                       # no strings in this column at all
            continue
        if risky.any():
            values = s.to_numpy(dtype=object).copy()
            values[risky] = [neutralize_cell(v) for v in values[risky]]
            out[col] = pd.Series(values, index=s.index, dtype=object)
    out.columns = [neutralize_cell(str(c)) for c in out.columns]
    return out


def refuse_formulas(table: pd.DataFrame, values: Iterable[Any], what: str) -> None:
    """ExportError naming the first sample whose `what` cell a spreadsheet would run as a formula.
    For the dataset formats, whose cells name files and splits: a neutralised cell would name
    nothing, so the export is refused instead."""
    for sid, value in zip(table["sample_id"], values):
        if neutralize_cell(value) != value:
            raise ExportError(f"sample {sid}: {what} {value!r} starts with {value[0]!r}, which a spreadsheet "
                              "runs as a formula; rename the file, or export --format csv (formulas "
                              "neutralised) or manifest")
