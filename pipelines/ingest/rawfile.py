"""What the loader reads: a file on disk, or one CSV inside a release zip, with its hash."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
import os
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

import polars as pl

from pipelines.errors import SendScorecardError, SourceFormatError

log = logging.getLogger(__name__)

DATA_SUFFIXES = (".csv", ".csv.gz", ".zip", ".xlsx", ".parquet")

# Caps on what one file may cost (README settings): bytes read from one archive member, rows per file.
MAX_MEMBER_BYTES_ENV, DEFAULT_MAX_MEMBER_BYTES = "SEND_MAX_MEMBER_BYTES", 1 << 30  # 1 GiB
MAX_ROWS_ENV, DEFAULT_MAX_ROWS = "SEND_MAX_ROWS_PER_FILE", 10_000_000


def _limit(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    try:
        value = int(text.replace("_", "").replace(",", "")) if text else default
    except ValueError:
        raise SendScorecardError(f"{name} must be a whole number; it is '{text}'.") from None
    if value < 1:
        raise SendScorecardError(f"{name} must be at least 1; it is {value}.")
    return value


def max_member_bytes() -> int:
    """The most bytes read from one member of an archive (SEND_MAX_MEMBER_BYTES, default 1 GiB)."""
    return _limit(MAX_MEMBER_BYTES_ENV, DEFAULT_MAX_MEMBER_BYTES)


def max_rows() -> int:
    """The most rows one file may have (SEND_MAX_ROWS_PER_FILE, default 10 million)."""
    return _limit(MAX_ROWS_ENV, DEFAULT_MAX_ROWS)


class OutsideDropZone(type(Path())):  # type: ignore[misc]
    """A file found under a folder that resolves (through a link) outside that folder: refused."""


@dataclass(frozen=True)
class RawFile:
    """One data file: `name` is what messages show (`release.zip!data/caseload.csv` for a member).

    Its bytes (`content`) are `data`, or when that is None what `read` returns, read on use: a refresh
    lists every file of the drop-zone before it loads the first, and holding them all for the whole run
    (80 MB for the demo drop-zone) cost as much memory as its biggest file's frame. The bytes of the file
    read last are kept (one file), so a file's hash and its reader share one read."""

    name: str
    data: bytes | None = None
    release: str | None = None
    read: Callable[[], bytes] | None = field(default=None, repr=False, compare=False)
    listed_sha256: str | None = field(default=None, repr=False, compare=False)  # hashed when listed

    @property
    def base_name(self) -> str:
        return PurePosixPath(self.name.split("!")[-1]).name

    @property
    def content(self) -> bytes:
        if self.data is not None or self.read is None:
            return self.data if self.data is not None else b""
        with _LAST_READ_LOCK:
            if _LAST_READ[0] is not self:
                _LAST_READ[:] = [None, None]  # the previous file's bytes go before this one's are read
                _LAST_READ[:] = [self, self.read()]
            return _LAST_READ[1]

    @cached_property
    def sha256(self) -> str:
        """The content hash, computed once per file (the skip check, lineage, gate and log all use it): a
        listed file's when it was listed."""
        return self.listed_sha256 or hashlib.sha256(self.content).hexdigest()

    @classmethod
    def from_path(cls, path: Path) -> RawFile:
        """A file on disk, hashed now as a stream and read on use; its release label is its name without
        the extension."""
        path = Path(path)
        name = path.name
        release = name[: -len(next(s for s in DATA_SUFFIXES if name.lower().endswith(s)))] if is_data_file(
            path) else None
        listed = _stamp(path)
        with path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()

        def read() -> bytes:
            if _stamp(path) != listed:
                raise SourceFormatError(name, "changed while the refresh was reading it; run the refresh again")
            return path.read_bytes()

        return cls(name=name, release=release, read=read, listed_sha256=digest)


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


_LAST_READ: list = [None, None]  # [RawFile, its bytes]: the file read last
_LAST_READ_LOCK = threading.Lock()


def is_data_file(path: Path) -> bool:
    """A file to load; hidden files and the LA's scorecard settings (pipelines.reports.settings) are not."""
    name = path.name.lower()
    return not name.startswith((".", "scorecard_settings.")) and name.endswith(DATA_SUFFIXES)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files under the given paths (directories walked recursively), in a stable order."""
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            root = path.resolve()
            for found in sorted(path.rglob("*")):
                if found.is_file() and is_data_file(found):
                    inside = found.resolve().is_relative_to(root)
                    files.append(found if inside else OutsideDropZone(found))
        elif path.exists():
            files.append(path)
        else:
            raise SourceFormatError(str(path), "no such file or folder")
    return files


def open_raw_files(path: Path, wanted: Callable[[str], bool] = lambda name: True) -> Iterator[RawFile]:
    """Yield the data files in `path`: the file itself, or each CSV of a release zip.

    Zip members are read in memory (never unpacked to disk); the release is the zip's name.
    `wanted(base name)` decides which files are read at all.
    """
    if isinstance(path, OutsideDropZone):
        raise SourceFormatError(str(path), "is a link to a file outside the drop-zone and is not read: copy the "
                                           "file itself into the drop-zone")
    path = Path(path)
    if path.name.lower().endswith(".zip"):
        release = path.name[: -len(".zip")]
        try:
            archive = zipfile.ZipFile(path)
            members = [m for m in archive.namelist()
                       if m.lower().endswith((".csv", ".csv.gz")) and wanted(PurePosixPath(m).name)]
            for member in sorted(members):
                yield _member(path, archive, member, release)
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise SourceFormatError(path.name, f"the zip file is damaged or incomplete ({exc})") from exc
    elif wanted(path.name):
        yield RawFile.from_path(path)


def _member(path: Path, archive: zipfile.ZipFile, member: str, release: str) -> RawFile:
    """One member of a release zip, hashed (and its size checked) now as a stream, its bytes read on use
    (the zip's entry for it checked to be the one listed)."""
    zip_name, info = path.name, archive.getinfo(member)
    cap = max_member_bytes()
    too_big = SourceFormatError(
        f"{zip_name}!{member}", f"expands to more than {cap:,} bytes, the limit for one archive member "
                                f"({MAX_MEMBER_BYTES_ENV}); it was not read. Check the archive, or raise the limit")
    if info.file_size > cap:
        raise too_big
    digest, size = hashlib.sha256(), 0
    with archive.open(member) as handle:  # the size its header claims is not trusted
        while size <= cap and (block := handle.read(1 << 20)):
            digest.update(block)
            size += len(block)
    if size > cap:
        raise too_big

    def read() -> bytes:
        try:
            with zipfile.ZipFile(path) as again:
                now = again.getinfo(member)
                if (now.CRC, now.file_size) != (info.CRC, info.file_size):
                    raise SourceFormatError(f"{zip_name}!{member}", "changed while the refresh was reading it; run "
                                                                    "the refresh again")
                return again.read(member)
        except (zipfile.BadZipFile, KeyError, EOFError, OSError) as exc:
            raise SourceFormatError(f"{zip_name}!{member}", f"could not be read again from the zip file ({exc})"
                                    ) from exc

    return RawFile(name=f"{zip_name}!{member}", release=release, read=read,
                   listed_sha256=digest.hexdigest())


def decode_text(raw: RawFile) -> str:
    """The file's text: gzip undone, UTF-8 with or without BOM, or cp1252 with a warning."""
    data = raw.content
    if raw.base_name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise SourceFormatError(raw.name, f"the gzip file is damaged or incomplete ({exc})") from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise SourceFormatError(raw.name, "the file starts as UTF-16 text but is not valid UTF-16") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    bad = [number for number, line in enumerate(lines, start=1) if not _is_utf8(line)]
    if any(not line.isascii() and _is_utf8(line) for line in lines):
        # UTF-8 text with a few bytes from another encoding: re-decoding it all would garble the rest
        shown = ", ".join(map(str, bad[:5])) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise SourceFormatError(raw.name, f"is UTF-8 text but line(s) {shown} hold bytes that are not UTF-8 "
                                          "(often one character pasted from another program); correct them and "
                                          "save the file as UTF-8", row=bad[0])
    log.warning("%s is not UTF-8; read as Windows-1252 (cp1252)", raw.name)
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise SourceFormatError(raw.name, "the file is neither UTF-8 nor Windows-1252 text") from exc


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_csv_text(raw: RawFile) -> pl.DataFrame:
    """Parse a CSV into an all-text frame with a `source_row` column (the header is line 1).

    Checks every row has as many fields as the header, so a truncated or ragged file fails with
    the row it breaks at; repeated header names are kept once when their values agree.
    """
    text = decode_text(raw)
    if not text.strip():
        raise SourceFormatError(raw.name, "the file is empty")
    data = text.encode("utf-8")  # polars parses UTF-8 bytes about twice as fast as a str
    cap = max_rows()
    if not _proven_regular(data, cap):
        _check_rows(raw, text, cap)  # the csv module finds the row and says what is wrong with it
    frame = pl.read_csv(io.BytesIO(data), infer_schema=False, has_header=True)
    frame = _drop_unnamed_empty_columns(frame, raw.name)
    frame = _merge_duplicate_columns(frame, raw.name)
    return frame.with_row_index("source_row", offset=2).with_columns(pl.col("source_row").cast(pl.Int64))


_COMMA, _QUOTE, _LF, _CR = (ord(c) for c in ',"\n\r')


def _proven_regular(data: bytes, cap: int) -> bool:
    """Whether `data` is, by a few array passes, a CSV the strict csv reader (_check_rows) accepts, with
    every non-blank record as wide as the header and at most `cap` records after it. True only when it
    is proven; False sends the file to _check_rows, which parses it row by row in Python (about a
    second per million cells) and names the row and the fault.

    Proven means: quotes only open a field (at the start of the file or a line, after a comma, or right
    after a closing quote, as the second quote of an escaped pair) and only close one (before a comma,
    a line end or a quote); an even number of them; a carriage return outside quotes only before a line
    feed; no NUL byte; no record longer than the csv module's field limit. Commas and line feeds
    outside quotes then separate fields and records exactly as the csv module does."""
    import numpy as np  # here, not at the top: a refresh with nothing changed reads no CSV

    b = np.frombuffer(data, dtype=np.uint8)
    size = b.size
    if not size or (b == 0).any():
        return False
    quotes = np.flatnonzero(b == _QUOTE)
    if quotes.size:
        if quotes.size % 2:
            return False
        opens, closes = quotes[0::2], quotes[1::2]
        before = b[np.maximum(opens - 1, 0)]
        escaped = np.zeros(opens.size, dtype=bool)
        escaped[1:] = opens[1:] == closes[:-1] + 1
        if not ((opens == 0) | (before == _COMMA) | (before == _LF) | escaped).all():
            return False
        after = np.where(closes + 1 < size, b[np.minimum(closes + 1, size - 1)], _LF)
        if not ((after == _COMMA) | (after == _LF) | (after == _CR) | (after == _QUOTE)).all():
            return False

    def outside(positions):  # those not inside a quoted field
        return positions[(np.searchsorted(quotes, positions) & 1) == 0] if quotes.size else positions

    returns = outside(np.flatnonzero(b == _CR))
    if returns.size and (returns[-1] + 1 >= size or (b[returns + 1] != _LF).any()):
        return False
    ends = outside(np.flatnonzero(b == _LF))
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [size]))
    lengths = stops - starts
    if lengths.max() > csv.field_size_limit():
        return False
    commas = np.flatnonzero(b == _COMMA)
    fields = np.diff(np.searchsorted(commas, stops), prepend=0) + 1  # commas before each record's end
    if quotes.size:  # less the commas inside a quoted field, which lies in one record (its line feeds end none)
        quoted = np.searchsorted(commas, quotes[1::2]) - np.searchsorted(commas, quotes[0::2])
        fields -= np.bincount(np.searchsorted(ends, quotes[0::2]), weights=quoted,
                              minlength=starts.size).astype(fields.dtype)
    blank = (lengths == 0) | ((lengths == 1) & (b[np.minimum(starts, size - 1)] == _CR))
    if blank[0]:
        return False
    records = starts.size - 1 - int(lengths[-1] == 0)  # a final line feed ends the last record, it starts none
    return records <= cap and bool((fields[1:][~blank[1:]] == fields[0]).all())


def _check_rows(raw: RawFile, text: str, cap: int) -> None:
    """Parse the file row by row: every row as wide as the header, at most `cap` rows, valid CSV;
    else an error naming the row."""
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        width = len(next(reader))
        for count, row in enumerate(reader, start=1):
            if count > cap:
                raise SourceFormatError(raw.name, f"has more than {cap:,} rows, the limit for one file "
                                                  f"({MAX_ROWS_ENV}); it was not loaded. Split the file, or raise "
                                                  "the limit")
            if row and len(row) != width:
                problem = f"has {len(row)} fields but the header has {width}" + (
                    "; the file looks truncated" if len(row) < width else ""
                )
                raise SourceFormatError(raw.name, problem, row=reader.line_num)
    except csv.Error as exc:
        raise SourceFormatError(raw.name, f"is not valid CSV ({exc})", row=reader.line_num) from exc


def _drop_unnamed_empty_columns(frame: pl.DataFrame, file: str) -> pl.DataFrame:
    """Columns without a header (Excel's trailing commas) are dropped when empty; with values, an error."""
    unnamed = [c for c in frame.columns if not c.strip() or (c.startswith("_duplicated_") and
                                                            c[len("_duplicated_"):].isdigit())]
    for column in unnamed:
        values = frame[column].drop_nulls()
        if values.len() and values.str.strip_chars().str.len_chars().max():
            position = frame.columns.index(column) + 1
            raise SourceFormatError(file, f"column {position} has values but no header; name it or delete it")
    return frame.drop(unnamed)


def _merge_duplicate_columns(frame: pl.DataFrame, file: str) -> pl.DataFrame:
    """Polars renames a repeated header `x` to `x_duplicated_0`: drop it if it repeats `x`."""
    for column in [c for c in frame.columns if "_duplicated_" in c]:
        original = column.split("_duplicated_")[0]
        if original in frame.columns and frame[original].equals(frame[column]):
            log.warning("%s: column '%s' appears twice with the same values; kept once", file, original)
            frame = frame.drop(column)
        else:
            raise SourceFormatError(file, "the column appears twice with different values", column=original)
    return frame
