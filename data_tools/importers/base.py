"""What every importer shares: options, the row record, label rules and label-file reading.

An importer only *collects* rows as it reads them (`Collected`); every check that can reject a row
lives in `validate.py`, so a bad input gets the same answer whatever the format.
"""
from __future__ import annotations

import csv
import glob
import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_tools import classes as C
from data_tools.images import printable


class ImportFailure(ValueError):
    """The import cannot go on; the message is one line naming the file (and row)."""

    def __init__(self, message: str):
        super().__init__(printable(message))


@dataclass
class ImportOptions:
    """Everything `python -m data_tools import` can be told (format-specific fields say which)."""
    root: Path
    out: Path
    replace: bool = False            # an existing dataset at `out` may be replaced (--replace)
    labels_only: bool = False        # no image checks; rows keep their file names
    issues: bool = True              # write issues.parquet from the decoded images (--no-issues: skip)
    crop_faces: bool = False         # detect the largest face and write a crop into the dataset folder
    jobs: int = 0                    # image-checking workers (0: processes twice the cores; threads min(8, that))
    seed: int = 0
    test_fraction: float = 0.2       # folders/csv without a split: seeded split
    val_fraction: float = 0.0
    group_regex: str | None = None   # subject from the file name, e.g. '^(S\d+)_'; splits keep groups apart
    classes: list[str] | None = None  # folders/csv: fixed class list and order
    vocabulary: str = "auto"         # folders/csv: expression | open | auto (classes.VOCABULARIES)
    numeric_labels: str | None = None  # folders/csv: numbers are codes in this dataset's order
    rafdb_list: Path | None = None
    noisy_list: Path | None = None
    ferplus_classes: int = 8
    affectnet_classes: int = 7
    affectnet_val_split: str = "test"
    use_face_box: bool = False
    cifar100_labels: str = "fine"    # fine (100 classes) | coarse (20 superclasses)
    affwild2_classes: int = 8
    affwild2_val_split: str = "test"
    csv: Path | None = None
    path_col: str = "path"
    label_col: str = "label"
    split_col: str | None = None
    id_col: str | None = None
    group_col: str | None = None

    def __post_init__(self) -> None:
        for name in ("root", "out", "rafdb_list", "noisy_list", "csv"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                setattr(self, name, Path(value))

    def locate(self, path: Path) -> Path:
        """A file named on the command line: absolute as given, else under --root, else from here."""
        if path.is_absolute() or (self.root / path).exists() or not path.exists():
            return path if path.is_absolute() else self.root / path
        return Path(os.path.abspath(path))


@dataclass
class Record:
    """One row as read, before validation. `row` counts from 1 (a CSV header is row 1)."""
    file: str
    row: int | str
    sample_id: str
    path: str
    label: str                       # the label as written in the source (a name or a number)
    split: str | None = None         # None: assigned after validation by the seeded split
    extras: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None        # set by the importer when a format rule excludes the row
    payload: Any = None              # importer data that is not a column (pixels, a face box)


@dataclass(frozen=True)
class LabelSpec:
    """How labels of one source map onto class names.

    With vocabulary "expression" a label names its class in any spelling (`classes.normalize`:
    'Anger' -> angry); with "open" a label is its class's name as written (trimmed, NFC)."""
    classes: list[str]                                   # the dataset's classes, in order
    numbers: tuple[str, ...] | None = None               # code -> name (index = code - base)
    base: int = 0
    names: bool = True                                   # class names are accepted too
    excluded: dict[str, str] = field(default_factory=dict)  # name -> why rows with it are left out
    vocabulary: str = "expression"                       # classes.VOCABULARIES

    def resolve(self, raw: str) -> tuple[str | None, str | None]:
        """(class name, None) or (None, reason the label is refused)."""
        text = str(raw).strip()
        if not text:
            return None, "empty label"
        name: str | None
        if self.numbers is not None and _is_int(text):
            code = int(text)
            i = code - self.base
            if not 0 <= i < len(self.numbers):
                return None, f"label {code} is out of range {self.base}..{self.base + len(self.numbers) - 1}"
            name = self.numbers[i]
        elif self.names:
            clean = C.clean_name(text)
            if clean in self.classes or clean in self.excluded:
                name = clean
            elif self.vocabulary == "expression":
                name = C.try_normalize(text)
            else:
                name = None
            if name is None:
                problem = C.name_problem(clean)
                return None, (f"label {problem}" if problem else
                              f"label '{text}' is not one of: {listed(self.classes)}")
        else:
            return None, (f"label '{text}' is not a number in "
                          f"{self.base}..{self.base + len(self.numbers or ()) - 1}")
        if name in self.excluded:
            return None, self.excluded[name]
        if name not in self.classes:
            return None, f"label '{text}' is not one of: {listed(self.classes)}"
        return name, None


def listed(classes: list[str], limit: int = 12) -> str:
    """The class list for a message: all of a short one, the first `limit` and a count of the rest."""
    if len(classes) <= limit:
        return ", ".join(classes)
    return f"{', '.join(classes[:limit])} and {len(classes) - limit} more"


def _is_int(text: str) -> bool:
    t = text[1:] if text[:1] in "+-" else text
    return t.isdigit()


@dataclass
class Collected:
    """What an importer read: the rows, how their labels map, and where their images are."""
    records: Iterable[Record]         # read once, in order (a generator streams a large file)
    labels: LabelSpec
    image_root: Path | None          # absolute; None when the importer makes the images itself
    source: str                      # what was read (shown in dataset.json)
    label_columns: tuple[str, ...] = ()  # extras holding labels to map like `label` (true_label, ...)
    # materialize(record, source image or None, dataset folder) writes the row's image into the
    # dataset folder and returns its path there (FER2013 pixels, AffectNet face boxes); raises
    # ValueError (or ImageError) with the reason to reject the row
    materialize: Callable[[Record, Path | None, Path], str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
               "dev": "val", "publictest": "val", "test": "test", "testing": "test", "privatetest": "test"}


def normalize_split(raw: str) -> str | None:
    """'Training' -> 'train', 'PublicTest' -> 'val', ...; None for an unknown name."""
    return SPLIT_NAMES.get(str(raw).strip().lower().replace("_", "").replace("-", ""))


NUMERIC_ORDERS = {"fer2013": (tuple(C.FER2013_ORDER), 0), "rafdb": (tuple(C.RAFDB_ORDER), 1),
                  "affectnet": (tuple(C.AFFECTNET_ORDER), 0)}


def _unreadable(path: Path, e: OSError) -> ImportFailure:
    if isinstance(e, FileNotFoundError):
        return ImportFailure(f"{path}: no such file")
    if isinstance(e, IsADirectoryError):
        return ImportFailure(f"{path}: is a folder, not a file")
    return ImportFailure(f"{path}: cannot be read ({e.strerror or e})")


def read_text(path: Path) -> str:
    """A label file's text: BOM dropped, undecodable bytes kept (as surrogates) for the checks."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise _unreadable(path, e) from None
    if not data.strip():
        raise ImportFailure(f"{path}: empty file")
    text = data.decode("utf-8", "surrogateescape")
    return text[1:] if text.startswith("\ufeff") else text


def read_lines(path: Path) -> list[tuple[int, str]]:
    """(line number from 1, stripped line) for every non-blank line of a text file."""
    return [(i, line.strip()) for i, line in enumerate(read_text(path).splitlines(), start=1)
            if line.strip()]


def sniff_delimiter(header_line: str) -> str:
    """The delimiter a header line uses: the most frequent of , ; TAB | outside quotes (default ,)."""
    counts = dict.fromkeys(",;\t|", 0)
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


MAX_CELL = 131_072   # characters in one CSV cell (the csv module's default limit); longer rejects the row
# columns in a CSV header: each becomes a manifest column the app offers as a filter; a wider header
# (issue 22: 1,000,000 columns) is refused before any row is read
MAX_COLUMNS = 10_000


def is_utf8(text: str) -> bool:
    """False for text holding undecodable bytes (read with surrogateescape)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class CsvStream:
    """A CSV read row by row, whatever its delimiter (, ; TAB |), BOM and line endings, in memory
    bounded by one row: `columns` from its header (or `header` for a file without one), and
    `rows()`, which reads the file again from the start each time it is called.

    Raises ImportFailure (naming the file) for an unreadable or empty file or a bad header; a
    malformed CSV raises it from `rows()`. `rows()` yields (row number from 1, cells by column, None)
    for a good row and (row number, None, reason) for a row with the wrong number of fields or an
    oversized cell (so it is reported, not lost); blank rows are skipped but keep their numbers."""

    def __init__(self, path: Path, header: list[str] | None = None):
        self.path = Path(path)
        self.first_line = first = self._first_line()
        self.delimiter = sniff_delimiter(first)
        self.has_header = header is None
        if header is not None:
            self.columns = list(header)
            return
        cells = next((c for _, c in self._records()), None)
        if cells is None:
            raise ImportFailure(f"{self.path}: empty file")
        if len(cells) > MAX_COLUMNS:
            raise ImportFailure(f"{self.path}: the header has {len(cells):,} columns (limit {MAX_COLUMNS:,}); "
                                "keep the columns you need")
        columns = [c.strip() for c in cells]
        if not all(is_utf8(c) for c in columns):
            raise ImportFailure(f"{self.path}: the header row is not valid UTF-8 ({first.rstrip(chr(13))}); "
                                "save the file as UTF-8 and import again")
        broken = next((c for c in columns if "\r" in c or "\n" in c), None)
        if broken is not None:
            raise ImportFailure(f"{self.path}: column name {broken!r} in the header contains a line break")
        if len(set(columns)) != len(columns):
            dup = sorted(c for c, n in Counter(columns).items() if n > 1)
            raise ImportFailure(f"{self.path}: repeated column name(s) in the header: {', '.join(dup)}")
        self.columns = columns

    def _open(self):
        try:
            return open(self.path, encoding="utf-8-sig", errors="surrogateescape", newline="")
        except OSError as e:
            raise _unreadable(self.path, e) from None

    def _first_line(self) -> str:
        """The first non-empty line (what the delimiter is sniffed from); ImportFailure when the file
        holds nothing but white space."""
        try:
            with self._open() as f:
                first = None
                for line in f:
                    if first is None and line.strip("\r\n"):
                        first = line.rstrip("\n")
                    if line.strip():
                        return first
        except OSError as e:
            raise _unreadable(self.path, e) from None
        raise ImportFailure(f"{self.path}: empty file")

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        """(row number from 1, cells) of every row with a non-blank cell."""
        limit = csv.field_size_limit()
        try:   # an oversized cell rejects its row, not the file
            csv.field_size_limit(max(limit, os.path.getsize(self.path) + 1))
            with self._open() as f:
                for i, cells in enumerate(csv.reader(f, delimiter=self.delimiter), start=1):
                    if "".join(cells).strip():          # a cell that is not white space
                        yield i, cells
        except csv.Error as e:
            raise ImportFailure(f"{self.path}: not a readable CSV ({e})") from None
        except OSError as e:
            raise _unreadable(self.path, e) from None
        finally:
            csv.field_size_limit(limit)

    def rows(self) -> Iterator[tuple[int, dict[str, str] | None, str | None]]:
        columns = self.columns
        records = self._records()
        if self.has_header:
            next(records, None)
        for i, cells in records:
            if len(cells) != len(columns):
                yield i, None, f"has {len(cells)} fields, the header has {len(columns)}"
            elif max(map(len, cells)) > MAX_CELL:
                col, cell = next((c, v) for c, v in zip(columns, cells) if len(v) > MAX_CELL)
                yield i, None, f"cell in column '{col}' has {len(cell):,} characters (limit {MAX_CELL:,})"
            else:
                yield i, dict(zip(columns, cells)), None


@dataclass
class Table:
    """A CSV read as strings: its columns and (row number, cells by column) for each data row."""
    path: Path
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]
    bad_rows: list[tuple[int, str]]  # (row, reason) for rows whose field count is wrong


def read_table(path: Path, *, header: list[str] | None = None) -> Table:
    """A whole CSV in memory (`CsvStream` reads it row by row). Raises ImportFailure for an empty
    file or a header without data rows."""
    stream = CsvStream(path, header=header)
    rows, bad = [], []
    for i, cells, why in stream.rows():
        if cells is None:
            bad.append((i, why))
        else:
            rows.append((i, cells))
    if not rows and not bad:
        raise ImportFailure(f"{path}: header only, no data rows")
    return Table(path=path, columns=stream.columns, rows=rows, bad_rows=bad)


def require_columns(table: Table | CsvStream, *names: str) -> None:
    """ImportFailure naming the file and the columns it has, when one of `names` is missing."""
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise ImportFailure(f"{table.path}: no column {', '.join(repr(m) for m in missing)} "
                            f"(columns: {', '.join(table.columns)})")


def bad_row_records(table: Table, display: str) -> list[Record]:
    """Report records for rows with the wrong number of fields (so they are counted, not lost)."""
    return [Record(file=display, row=i, sample_id="", path="", label="", reason=reason)
            for i, reason in table.bad_rows]


def stem_id(rel_path: str) -> str:
    """A sample id from a relative path: the path without its extension, '/' separated."""
    return os.path.splitext(rel_path.replace("\\", "/"))[0]


def unique_ids(rel_paths: list[str]) -> list[str]:
    """`stem_id` for each path, keeping the extension where two files share a stem (x.png, x.jpg)."""
    stems = [stem_id(p) for p in rel_paths]
    paths_of: dict[str, set[str]] = {}
    for s, p in zip(stems, rel_paths):
        paths_of.setdefault(s, set()).add(p)
    return [s if len(paths_of[s]) == 1 else p.replace("\\", "/") for s, p in zip(stems, rel_paths)]


def display_path(path: Path, root: Path) -> str:
    """`path` relative to `root` when it is inside, else as given (for report 'file' cells)."""
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(path)


def generic_spec(label_counts: Mapping[str, int], opts: ImportOptions) -> LabelSpec:
    """Label rules for folders and CSVs.

    The vocabulary (--vocabulary, default auto): with --classes, "expression" when every name given
    is an expression name, else "open"; without, "expression" when at least half the labelled rows
    carry an expression name, else "open" (labels that are all numbers need --numeric-labels or
    --vocabulary open). Classes: --classes in its order; else the expression names found in the
    default order, or every valid name found (`classes.order_open`)."""
    numbers, base = NUMERIC_ORDERS[opts.numeric_labels] if opts.numeric_labels else (None, 0)
    vocab = opts.vocabulary
    if vocab not in ("auto", *C.VOCABULARIES):
        raise ImportFailure(f"--vocabulary '{vocab}' is not one of: auto, {', '.join(C.VOCABULARIES)}")
    if numbers is not None and vocab == "open":
        raise ImportFailure("--numeric-labels names expression codes; it cannot be combined with --vocabulary open")
    present: Counter[str] = Counter()   # class name as written -> rows
    for raw, n in label_counts.items():
        if str(raw).strip():
            present[C.clean_name(raw)] += n
    if opts.classes:
        given = [C.clean_name(c) for c in opts.classes]
        for c in given:
            problem = C.name_problem(c)
            if problem:
                raise ImportFailure(f"--classes: {problem}")
        if vocab == "auto":
            vocab = "expression" if numbers is not None or all(map(C.is_expression, given)) else "open"
        if vocab == "expression":
            bad = next((c for c in given if not C.is_expression(c)), None)
            if bad is not None:
                raise ImportFailure(f"--classes: '{bad}' is not an expression class (known: "
                                    f"{', '.join(C.BASIC8)}); --vocabulary open takes any names")
            given = [C.normalize(c) for c in given]
        classes = list(dict.fromkeys(given))
    elif numbers is not None:
        classes, vocab = list(numbers), "expression"
    else:
        if vocab == "auto":
            if present and all(_is_int(p) for p in present):
                raise ImportFailure(f"{opts.root}: every label is a number: name their order with "
                                    f"--numeric-labels {'|'.join(NUMERIC_ORDERS)}, or keep the numbers "
                                    "as class names with --vocabulary open")
            n_expr = sum(n for p, n in present.items() if C.is_expression(p))
            vocab = "expression" if n_expr and 2 * n_expr >= sum(present.values()) else "open"
        if vocab == "expression":
            classes = C.order_classes(sorted({n for n in map(C.try_normalize, present) if n}))
        else:
            classes = C.order_open({p for p in present if C.name_problem(p) is None})
    if not classes:
        what = ("is an expression class name (known: " + ", ".join(C.BASIC8) + ")" if vocab == "expression"
                else "can be a class name")
        raise ImportFailure(f"{opts.root}: no label {what}")
    return LabelSpec(classes=classes, numbers=numbers, base=base, names=True, vocabulary=vocab)


def find_csv(opts: ImportOptions, default: str | None = None) -> Path:
    """--csv (relative to --root), else `default` in --root, else the only *.csv in --root."""
    if opts.csv is not None:
        return opts.locate(opts.csv)
    if default and (opts.root / default).is_file():
        return opts.root / default
    if not opts.root.is_dir():
        raise ImportFailure(f"{opts.root}: no such folder")
    found = sorted(glob.glob(os.path.join(glob.escape(str(opts.root)), "*.csv")))
    if len(found) == 1:
        return Path(found[0])
    if not found:
        raise ImportFailure(f"{opts.root}: no *.csv file (name one with --csv)")
    raise ImportFailure(f"{opts.root}: {len(found)} CSV files ({', '.join(Path(f).name for f in found)}); "
                        "name one with --csv")


def fingerprint(text: str) -> int:
    """A 64-bit digest of `text`, the same in every process (bounded-memory sets of ids and paths;
    equal fingerprints are compared again as text where it matters)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=8).digest(), "little")
