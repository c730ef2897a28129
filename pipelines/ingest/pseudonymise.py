"""Pseudonymisation of local extracts at ingest.

Identifiers (person id, UPN, request id, staff id) become HMAC-SHA256 keyed hashes: the same
identifier gives the same hash in every extract loaded with the same key, so records still link,
but nobody without the key can recover or test for an identifier. Dates of birth become an age in
whole years (and an age band) at the date that matters for the record. Names and free text are
dropped by the readers and never reach the warehouse.

The key is a secret held outside the repository, in the environment variable SEND_PSEUDONYM_KEY.
"""

from __future__ import annotations

import hmac
import os
import re

import polars as pl

from pipelines.errors import SendScorecardError

PSEUDONYM_KEY_ENV = "SEND_PSEUDONYM_KEY"
MIN_KEY_LENGTH = 16

# Each kind of identifier hashes in its own namespace, so a staff id and a person id that happen to
# be the same string do not collide. Pupil ids (exclusions) and young person ids (post-16) are person
# ids: when they come from the same case-management system as the casework, their hashes link.
IDENTIFIER_KINDS = ("person", "upn", "request", "staff")

# DfE SEN2 age bands (age in whole years at the relevant date).
AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 4, "under 5"),
    (5, 10, "5 to 10"),
    (11, 15, "11 to 15"),
    (16, 19, "16 to 19"),
    (20, 25, "20 to 25"),
    (26, None, "26 and over"),
)

KEY_MISSING_MESSAGE = (
    f"Local extracts hold personal data: set {PSEUDONYM_KEY_ENV} to a secret of at least {MIN_KEY_LENGTH} "
    "characters (keep it out of the repository, e.g. in your password manager or the scheduler's secret "
    "store) and run again. Use the same key every month so that identifiers keep linking."
)


def pseudonym_key(key: str | bytes | None = None) -> bytes:
    """The HMAC key: `key` if given, else SEND_PSEUDONYM_KEY; refuses a missing or short key."""
    value = key if key is not None else os.environ.get(PSEUDONYM_KEY_ENV, "")
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if not raw.strip():
        raise SendScorecardError(KEY_MISSING_MESSAGE)
    if len(raw) < MIN_KEY_LENGTH:
        raise SendScorecardError(
            f"{PSEUDONYM_KEY_ENV} is set but shorter than {MIN_KEY_LENGTH} characters: a short key can be "
            "guessed, which would undo the pseudonymisation. Set a longer secret and run again."
        )
    return raw


def normalise_identifier(values: pl.Series) -> pl.Series:
    """Identifier text as it is hashed: trimmed, upper-case, inner spaces removed.

    Excel turns a numeric id into `12345.0`; the `.0` is removed so CSV and XLSX exports of the same
    id hash alike. Blank becomes null (no hash).
    """
    text = pl.col("id").cast(pl.String).str.strip_chars().str.to_uppercase().str.replace_all(r"\s+", "")
    text = text.str.replace(r"^(\d+)\.0+$", "$1")
    return (values.rename("id").to_frame()
            .select(pl.when(text == "").then(None).otherwise(text).alias(values.name)).to_series())


def keyed_hash(values: pl.Series, kind: str, key: bytes) -> pl.Series:
    """HMAC-SHA256 (hex) of each normalised identifier in namespace `kind`; nulls stay null.

    Each distinct value is hashed once, so a column of repeated ids costs one HMAC per person.
    """
    if kind not in IDENTIFIER_KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}")
    normalised = normalise_identifier(values)
    distinct = normalised.drop_nulls().unique()
    prefix = kind.encode("ascii") + b"\x1f"
    hashes = [hmac.digest(key, prefix + v.encode("utf-8"), "sha256").hex() for v in distinct.to_list()]
    return normalised.replace_strict(distinct, pl.Series(hashes, dtype=pl.String), default=None,
                                     return_dtype=pl.String).alias(values.name)


def age_in_years(date_of_birth: pl.Expr, at: pl.Expr) -> pl.Expr:
    """Whole years from birth to `at` (a birthday on 29 February is reached on 1 March)."""
    not_yet = (at.dt.month() < date_of_birth.dt.month()) | (
        (at.dt.month() == date_of_birth.dt.month()) & (at.dt.day() < date_of_birth.dt.day())
    )
    return (at.dt.year().cast(pl.Int32) - date_of_birth.dt.year().cast(pl.Int32) - not_yet.cast(pl.Int32))


def academic_age(date_of_birth: pl.Expr, at: pl.Expr) -> pl.Expr:
    """Age on 31 August before the academic year that contains `at` (NCCIS's 'academic age')."""
    year = at.dt.year().cast(pl.Int32) - (at.dt.month() < 9).cast(pl.Int32)
    return age_in_years(date_of_birth, pl.date(year, 8, 31))


def age_band(age: pl.Expr) -> pl.Expr:
    """The DfE SEN2 band of an age in years (null stays null)."""
    expr = pl.when(age.is_null()).then(pl.lit(None, pl.String))
    for low, high, label in AGE_BANDS:
        condition = (age >= low) if high is None else age.is_between(low, high)
        expr = expr.when(condition).then(pl.lit(label))
    return expr.otherwise(pl.lit(None, pl.String))


# ---------------------------------------------------------------------------------------------
# Free text and URLs: cut to what a KPI needs

REFUSED_SEGMENT = "[refused]"
_EMAIL = re.compile(r"[^/@\s]+(@|%40)[^/@\s]+\.[^/@\s]+", re.IGNORECASE)
_PERSON_NAME = re.compile(r"^[A-Z][a-z'’]+(?:[ ._+-]|%20)+(?:[A-Z][a-z'’]+(?:[ ._+-]|%20)+)?[A-Z][a-z'’-]+$")
_UPN = re.compile(r"^[A-Z]\d{11}[0-9A-Z]$", re.IGNORECASE)
_NHS_NUMBER = re.compile(r"^\d{3}(?:[ -]|%20)?\d{3}(?:[ -]|%20)?\d{4}$")
_DATE = re.compile(r"^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$|^(19|20)\d{2}-\d{2}-\d{2}$")


def looks_personal(segment: str) -> bool:
    """True for a URL path segment that looks like an e-mail address, a person's name ('John-Smith',
    'Amy.Lee'), a UPN, an NHS number or a date (of birth)."""
    return bool(_EMAIL.search(segment) or _PERSON_NAME.match(segment) or _UPN.match(segment)
                or _NHS_NUMBER.match(segment) or _DATE.match(segment))


def page_path_only(url: str) -> tuple[str, bool]:
    """A web page's path as the Local Offer KPIs need it: no scheme or host, no query string, no
    fragment, and each segment that looks personal replaced by '[refused]'. Returns (path, refused?).

    '/search?q=jo@example.org&child=Amy' -> ('/search', False); '/people/Amy-Lee/plan' ->
    ('/people/[refused]/plan', True)."""
    text = url.strip()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://[^/?#]*", "", text, flags=re.IGNORECASE)  # scheme and host
    text = re.split(r"[?#]", text, maxsplit=1)[0]
    segments = text.split("/")
    kept = [REFUSED_SEGMENT if s and looks_personal(s) else s for s in segments]
    return "/".join(kept) or "/", kept != segments
