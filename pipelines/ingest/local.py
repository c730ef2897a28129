"""Readers for the local monthly extracts: case-level data from the LA's own systems.

Five layouts (docs/local-extracts.md): EHCP casework, exclusions log, Local Offer web analytics,
training records and post-16 tracking. Each reader takes one CSV or XLSX file and returns a polars
frame ready for its raw table: the header is matched against the layout's columns and their accepted
spellings, every value is checked (dates in any of the accepted formats, yes/no flags, code lists,
counts) and a value that breaks the contract stops the file with a SourceFormatError naming the
file, row and column. The frame is pseudonymised before it leaves the reader: identifiers become
keyed hashes, dates of birth become ages, names and free text are dropped. So nothing personal
reaches the warehouse, and error messages never quote a personal value either.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.errors import SourceFormatError
from pipelines.ingest.pseudonymise import (
    REFUSED_SEGMENT,
    academic_age,
    age_band,
    age_in_years,
    keyed_hash,
    page_path_only,
    pseudonym_key,
)
from pipelines.ingest.rawfile import RawFile, decode_text, read_csv_text

log = logging.getLogger(__name__)

# Column kinds. Personal kinds never leave the reader as they came in.
ID, UPN, NAME, DOB, FREE_TEXT = "id", "upn", "name", "dob", "free_text"
DATE, MONTH, TEXT, FLAG, COUNT, NUMBER, CODE = "date", "month", "text", "flag", "count", "number", "code"
PERSONAL_KINDS = frozenset({ID, UPN, NAME, DOB, FREE_TEXT})
# How a message refers to a bad cell: never by its value.
NOT_QUOTED = "the value (not shown: cells of local extracts are never quoted)"

DATE_FORMATS_TEXT = ("dd/mm/yyyy (also d/m/yyyy, dd-mm-yyyy, dd.mm.yyyy), yyyy-mm-dd (a time of day is ignored), "
                     "yyyymmdd, '1 Mar 2025' / '01-Mar-2025', or an Excel serial date number such as 45678")
EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01 given Excel's 1900 leap-year bug
EARLIEST_DATE, LATEST_DATE = dt.date(1900, 1, 1), dt.date(2099, 12, 31)
XLSX_HEADER_SEARCH_ROWS = 20  # exports often put a title or run date above the header


def normalise_header(name: object) -> str:
    """`Date of Birth` -> `date_of_birth`; `Child's name` -> `child_s_name`."""
    text = str(name or "").strip().lower().replace("&", " and ")
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


def normalise_code(value: str) -> str:
    """`Non-Maintained Special` -> `non maintained special`: how a code's spellings are compared."""
    return re.sub(r"[^0-9a-z]+", " ", value.lower()).strip()


def _codes(spellings: dict[str, Iterable[str]]) -> dict[str, str]:
    """canonical -> accepted spellings, inverted into normalised spelling -> canonical."""
    table: dict[str, str] = {}
    for canonical, words in spellings.items():
        for word in (canonical, *words):
            table[normalise_code(word)] = canonical
    return table


@dataclass(frozen=True)
class Column:
    """One column of a layout: canonical name, kind, accepted header spellings, code list."""

    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    codes: dict[str, str] | None = None
    id_kind: str | None = None  # namespace of the keyed hash for ID columns
    description: str = ""

    @property
    def personal(self) -> bool:
        return self.kind in PERSONAL_KINDS

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *(normalise_header(a) for a in self.aliases))


@dataclass(frozen=True)
class LocalLayout:
    """A local extract's schema contract."""

    table: str
    title: str
    columns: tuple[Column, ...]
    one_of: tuple[tuple[str, ...], ...] = ()  # at least one column of each group must be present
    systems: str = ""

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def aliases(self) -> dict[str, str]:
        return {s: c.name for c in self.columns for s in c.spellings if s != c.name}

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def resolve(self, headers: Iterable[str], file: str) -> dict[str, str]:
        """canonical name -> the file's header, for the headers this layout knows."""
        lookup = {s: c.name for c in self.columns for s in c.spellings}
        found: dict[str, str] = {}
        for header in headers:
            canonical = lookup.get(normalise_header(header))
            if canonical is None:
                continue
            if canonical in found:
                raise SourceFormatError(
                    file, f"the columns '{found[canonical]}' and '{header}' both look like '{canonical}'; "
                          "keep one of them")
            found[canonical] = header
        return found


# ---------------------------------------------------------------------------------------------
# Code lists (canonical code -> accepted spellings; compared after normalise_code)

YES_NO = _codes({"yes": ("y", "true", "t", "1", "x", "ticked"), "no": ("n", "false", "f", "0")})

ASSESSMENT_OUTCOMES = _codes({
    "plan_issued": ("plan issued", "issued", "ehcp issued", "ehc plan issued", "final plan issued", "plan",
                    "issue plan", "plan finalised"),
    "not_issued": ("not issued", "plan not issued", "no plan", "decision not to issue", "not to issue",
                   "refused to issue", "nti", "assessed no plan"),
    "not_assessed": ("not assessed", "decision not to assess", "refused to assess", "not to assess", "nta",
                     "assessment refused"),
    "withdrawn": ("withdrawn", "request withdrawn", "closed withdrawn", "cancelled", "moved out of area",
                  "moved away"),
    "ongoing": ("ongoing", "in progress", "open", "pending", "awaiting decision", "assessment ongoing",
                "under assessment", "draft plan issued", "draft issued"),
})

PLACEMENT_TYPES = _codes({
    "mainstream": ("mainstream school", "mainstream maintained", "la maintained mainstream", "mainstream academy",
                   "academy", "free school", "maintained mainstream", "primary", "secondary", "all through"),
    "resourced_provision": ("resourced provision", "sen unit", "special unit", "specialist resource base", "srb",
                            "arp", "additionally resourced provision", "enhanced provision"),
    "maintained_special": ("maintained special", "la maintained special", "special school", "special academy",
                           "special free school", "academy special", "maintained special school"),
    "independent_special": ("independent special", "independent special school", "independent specialist school",
                            "iss", "independent non maintained special"),
    "non_maintained_special": ("non maintained special", "non maintained special school", "nmss",
                               "non maintained"),
    "independent_mainstream": ("independent mainstream", "independent school", "independent"),
    "alternative_provision": ("alternative provision", "ap", "pru", "pupil referral unit", "ap academy"),
    "post16": ("post 16", "fe college", "further education", "further education college", "sixth form college",
               "general fe college", "sixth form"),
    "post16_specialist": ("specialist post 16 institution", "spi", "independent specialist provider", "isp",
                          "specialist college"),
    "early_years": ("early years", "nursery", "early years setting", "pre school", "maintained nursery"),
    "eotas": ("eotas", "education otherwise than at school", "elective home education", "ehe", "home educated",
              "home education", "education otherwise"),
    "none": ("not in education", "no placement", "nie", "awaiting placement", "not placed", "none"),
    "other": ("other", "hospital school", "secure setting", "custody"),
})

PLACEMENT_LOCATIONS = _codes({
    "in_borough": ("in", "in borough", "in area", "in la", "ib", "inside", "within borough", "in county"),
    "out_of_borough": ("out", "out of borough", "oob", "out of area", "ooa", "out of la", "ob", "outside",
                       "out of county", "ooc"),
})

EXCLUSION_TYPES = _codes({
    "suspension": ("suspension", "suspended", "fixed term", "fixed term exclusion", "fte", "fixed period",
                   "fixed period exclusion", "fpe", "fp", "sus", "susp"),
    "permanent": ("permanent", "permanent exclusion", "pex", "perm", "pe", "p"),
})

SEN_PROVISION = _codes({
    "ehc_plan": ("ehc plan", "ehcp", "e", "ehc", "statement", "statement of sen", "education health and care plan"),
    "sen_support": ("sen support", "k", "support", "school action", "school action plus", "a", "p",
                    "send support"),
    "none": ("n", "no sen", "no", "no send", "not sen", "none"),
})

SEND_STATUS = _codes({
    "ehcp": ("ehc plan", "e", "ehc", "statement", "ehcp statement", "education health and care plan"),
    "sen_support": ("sen support", "k", "sen", "lda", "learning difficulty assessment", "send support",
                    "sen no ehcp", "sen without ehcp"),
    "none": ("n", "no", "no send", "not send", "none"),
})

# NCCIS-style current activity: the text spellings, and numeric codes grouped by their band
# (1xx education; 210 apprenticeship; other 2xx employment; 320 supported internship; other 3xx
# training; 4xx working not for reward (volunteering); 5xx-6xx NEET; 7xx other; 8xx not known).
# Check the codes against your CCIS supplier's list for the year; a code not listed is an error.
ACTIVITIES = ("education", "employment", "apprenticeship", "supported_internship", "training", "volunteering",
              "neet", "not_known", "other")
ACTIVITY_SPELLINGS = _codes({
    "education": ("full time education", "ft education", "school sixth form", "sixth form", "sixth form college",
                  "college", "further education", "fe", "higher education", "he", "part time education",
                  "education full time", "in education", "continuing study", "study"),
    "employment": ("employed", "employment", "full time employment", "part time employment", "job", "paid work",
                   "self employed", "self employment", "employment with training", "employment without training",
                   "temporary employment", "in work"),
    "apprenticeship": ("apprentice", "apprenticeship", "modern apprenticeship"),
    "supported_internship": ("supported internship", "internship", "supported intern"),
    "training": ("traineeship", "training", "work based learning", "study programme", "pre employment",
                 "re engagement provision", "other training"),
    "volunteering": ("volunteering", "voluntary work", "volunteer", "working not for reward"),
    "neet": ("neet", "not in education employment or training", "seeking employment", "seeking work",
             "unemployed", "not available", "not available to the labour market", "young carer", "teenage parent",
             "illness", "pregnancy", "economically inactive"),
    "not_known": ("not known", "unknown", "nk", "current situation not known", "cannot be contacted",
                  "not contacted", "situation not known"),
    "other": ("custody", "in custody", "other", "asylum seeker", "refugee"),
})
NCCIS_ACTIVITY_CODES: dict[str, str] = {
    **{str(c): "education" for c in range(110, 200, 10)},
    "210": "apprenticeship",
    **{str(c): "employment" for c in range(220, 300, 10)},
    "310": "training", "320": "supported_internship", "330": "training", "340": "training", "350": "training",
    **{str(c): "volunteering" for c in (410, 420, 430)},
    **{str(c): "neet" for c in (*range(510, 560, 10), *range(610, 690, 10))},
    **{str(c): "other" for c in (710, 720, 730)},
    "810": "not_known", "820": "not_known", "830": "not_known",
}

LIVING_ARRANGEMENTS = _codes({
    "supported_living": ("supported living", "supported accommodation", "supported housing", "shared lives"),
    "independent_living": ("independent living", "own tenancy", "independent", "own home", "lives independently"),
    "family_home": ("family home", "with parents", "lives with family", "parental home", "with family",
                    "with carers", "foster care"),
    "residential": ("residential", "residential college", "residential care", "residential placement"),
    "other": ("other",),
})


def _col(name: str, kind: str, *aliases: str, required: bool = False, codes=None, id_kind=None,
         description: str = "") -> Column:
    return Column(name, kind, tuple(aliases), required, codes, id_kind, description)


def _name_columns() -> tuple[Column, ...]:
    return (
        _col("name", NAME, "full name", "child name", "child's name", "young person name", "pupil name",
             "staff name", "employee name", "learner name", description="dropped"),
        _col("forename", NAME, "first name", "given name", "forenames", "legal forename", "preferred name",
             description="dropped"),
        _col("surname", NAME, "last name", "family name", "legal surname", description="dropped"),
    )


CASEWORK = LocalLayout(
    table="local_ehcp_casework",
    title="EHCP casework extract (one row per request for an EHC needs assessment)",
    systems="Capita One (EHCP / SEN2 reports), LiquidLogic EHM/EHCP Hub, Servelec Synergy, Mosaic, or any "
            "SEN2-style report",
    columns=(
        _col("person_id", ID, "person id", "child id", "client id", "one id", "person ref", "person reference",
             "cyp id", "lcs id", "mosaic id", "synergy id", "system id", "child ref", required=True,
             id_kind="person", description="hashed to person_key"),
        _col("upn", UPN, "unique pupil number", "upn number", id_kind="upn", description="hashed to upn_key"),
        *_name_columns(),
        _col("date_of_birth", DOB, "dob", "birth date", "date of birth", required=True,
             description="becomes age_at_request and age_band_at_request"),
        _col("request_id", ID, "request ref", "request reference", "referral id", "ehc request id",
             "ehcna request id", "request no", "request number", "case id", "case ref", "assessment id",
             required=True, id_kind="request", description="hashed to request_key; unique in the file"),
        _col("request_received_date", DATE, "request date", "date request received", "received date",
             "date received", "request received", "ehcna request date", "date of request", required=True),
        _col("decision_to_assess", FLAG, "agreed to assess", "assessment agreed", "decision to assess yes no",
             "decision to assess y n", "assess"),
        _col("decision_to_assess_date", DATE, "decision date", "date of decision to assess", "decision to assess on",
             "assessment decision date"),
        _col("assessment_outcome", CODE, "outcome", "request outcome", "ehc assessment outcome",
             "assessment status", "outcome of assessment", required=True, codes=ASSESSMENT_OUTCOMES),
        _col("assessment_outcome_date", DATE, "outcome date", "date of outcome", "date of assessment outcome"),
        _col("plan_issue_date", DATE, "plan issued date", "date plan issued", "ehcp issue date",
             "ehc plan issue date", "final plan date", "date final plan issued", "final plan issued date",
             "issue date", "final ehcp issued", "date issued"),
        _col("exception_flag", FLAG, "20 week exception", "twenty week exception", "exception",
             "exception applies", "20 week exception flag", "20wk exception", "timescale exception"),
        _col("exception_reason", FREE_TEXT, "20 week exception reason", "reason for exception",
             "exception notes", "exception details", description="dropped (only whether a reason was given is kept)"),
        _col("mediation_flag", FLAG, "mediation", "went to mediation", "mediation y n", "mediation held"),
        _col("mediation_date", DATE, "date of mediation", "mediation held date"),
        _col("tribunal_flag", FLAG, "tribunal", "appeal", "tribunal appeal", "sendist appeal", "appeal lodged",
             "first tier tribunal"),
        _col("tribunal_date", DATE, "appeal date", "date appeal lodged", "tribunal registered date",
             "date of tribunal", "appeal registered date"),
        _col("placement_type", CODE, "current placement type", "placement", "establishment type",
             "setting type", "provision type", "current placement", codes=PLACEMENT_TYPES),
        _col("placement_location", CODE, "in out of borough", "in or out of borough", "in out borough", "borough",
             "in out of area", "in or out of area", "placement area", "location", codes=PLACEMENT_LOCATIONS),
        _col("plan_ceased_date", DATE, "ceased date", "date ceased", "date plan ceased", "plan end date",
             "end date", "plan ceased on", "ceased"),
        _col("extract_date", DATE, "as at", "as at date", "report date", "run date", "extract run date",
             description="optional: else taken from the file name"),
    ),
)

EXCLUSIONS = LocalLayout(
    table="local_exclusions",
    title="Exclusions log (one row per suspension or permanent exclusion)",
    systems="Capita One / Synergy exclusions module, Arbor or SIMS exclusion reports collated by the LA",
    columns=(
        _col("pupil_id", ID, "person id", "child id", "student id", "pupil ref", "pupil reference", "one id",
             id_kind="person", description="hashed to pupil_key"),
        _col("upn", UPN, "unique pupil number", id_kind="upn", description="hashed to upn_key"),
        *_name_columns(),
        _col("date_of_birth", DOB, "dob", "birth date", description="optional: becomes age_at_exclusion"),
        _col("school", TEXT, "school name", "establishment", "establishment name", "school urn", "urn", "dfe number",
             "laestab", "setting", "provider", required=True),
        _col("exclusion_date", DATE, "date", "start date", "exclusion start date", "suspension date",
             "date of exclusion", "exclusion date", "first day of exclusion", required=True),
        _col("exclusion_type", CODE, "type", "category", "exclusion category", "exclusion type",
             "suspension or permanent", required=True, codes=EXCLUSION_TYPES),
        _col("sessions", NUMBER, "number of sessions", "sessions missed", "length sessions", "length in sessions",
             "no of sessions", "session count", "total sessions"),
        _col("sen_provision", CODE, "sen status", "send status", "sen", "sen stage", "send", "sen code",
             "sen provision", required=True, codes=SEN_PROVISION),
    ),
    one_of=(("pupil_id", "upn"),),
)

LOCAL_OFFER_VISITS = LocalLayout(
    table="local_offer_visits",
    title="Local Offer web analytics export (one row per day and page)",
    systems="Google Analytics 4 (Explore / report CSV export), Matomo, Siteimprove, Open Objects / "
            "Idox / Placecube directory statistics",
    columns=(
        _col("visit_date", DATE, "date", "day", required=True),
        _col("page_path", TEXT, "page", "page path and screen class", "pagepath", "page url", "landing page",
             "page location", "url", "page path query string and screen class", required=True),
        _col("page_title", FREE_TEXT, "page title and screen class", "title"),
        _col("page_views", COUNT, "views", "pageviews", "screen page views", "page views", "hits", required=True),
        _col("sessions", COUNT, "visits", "sessions", required=True),
        _col("users", COUNT, "total users", "active users", "unique visitors", "visitors", required=True),
    ),
)

TRAINING = LocalLayout(
    table="local_training",
    title="SEND training records (one row per staff member and completed course)",
    systems="council learning management systems (e.g. iTrent / MyLearning, Learning Pool, "
            "Me Learning), training team spreadsheets",
    columns=(
        _col("staff_id", ID, "staff member id", "employee id", "employee number", "employee no", "staff number",
             "payroll number", "learner id", "user id", "person id", "staff ref", required=True, id_kind="staff",
             description="hashed to staff_key"),
        *_name_columns(),
        _col("email", NAME, "email address", "work email", "e mail", description="dropped"),
        _col("course", TEXT, "course title", "course name", "module", "learning item", "training",
             "training course", "session title", "event", "course", required=True),
        _col("completed_date", DATE, "date completed", "completion date", "completed on", "completed",
             "date of completion", "attended date", "date attended", required=True,
             description="blank: not completed (row not loaded, counted in the log)"),
        _col("organisation", TEXT, "organization", "team", "service", "department", "setting", "sector",
             "directorate", "employer"),
    ),
)

POST16 = LocalLayout(
    table="local_post16_tracking",
    title="Post-16 tracking caseload (NCCIS-style; one row per young person and month)",
    systems="CCIS / NCCIS caseload systems: Capita One Youth/CCIS, Servelec Core+, Careers service "
            "trackers",
    columns=(
        _col("young_person_id", ID, "yp id", "person id", "ccis id", "client id", "nccis id", "cohort id",
             "learner id", "young person ref", required=True, id_kind="person",
             description="hashed to young_person_key"),
        _col("upn", UPN, "unique pupil number", id_kind="upn", description="hashed to upn_key"),
        *_name_columns(),
        _col("date_of_birth", DOB, "dob", "birth date", required=True,
             description="becomes age_at_month_end, academic_age and age_band"),
        _col("send_status", CODE, "sen status", "send", "sen", "sen provision", "send flag", "sen support ehcp",
             required=True, codes=SEND_STATUS),
        _col("activity_code", CODE, "activity", "current activity", "current activity code",
             "nccis activity code", "activity description", "activity status", required=True),
        _col("month", MONTH, "period", "reporting month", "snapshot month", "month end", "caseload month",
             "as at", description="optional: else taken from the file name"),
        _col("social_care_activity", FLAG, "accessing social care activities", "social care activities",
             "short breaks"),
        _col("living_arrangement", CODE, "accommodation", "accommodation type", "living situation",
             "living arrangements", codes=LIVING_ARRANGEMENTS),
        _col("annual_health_check", FLAG, "health check", "annual health check completed", "ahc",
             "annual health check in last 12 months"),
    ),
)

LOCAL_LAYOUTS: dict[str, LocalLayout] = {
    layout.table: layout for layout in (CASEWORK, EXCLUSIONS, LOCAL_OFFER_VISITS, TRAINING, POST16)
}


# ---------------------------------------------------------------------------------------------
# Reading a file into an all-text frame with canonical column names


@dataclass
class Extract:
    """One local file being read: its name, the layout and the file's own header names."""

    file: str
    base_name: str
    layout: LocalLayout
    headers: dict[str, str] = field(default_factory=dict)  # canonical -> header in the file

    def header(self, column: str) -> str:
        return self.headers.get(column, column)

    def error(self, problem: str, row: int | None = None, column: str | None = None) -> SourceFormatError:
        return SourceFormatError(self.file, problem, row=row, column=self.header(column) if column else None)


def _as_raw(source: RawFile | Path) -> RawFile:
    return source if isinstance(source, RawFile) else RawFile.from_path(Path(source))


def _read_csv(raw: RawFile) -> pl.DataFrame:
    """All-text frame of a CSV; leading '#' comment lines and blank lines (GA4 exports) are skipped."""
    text = decode_text(raw)
    position, skipped = 0, 0
    while position < len(text):
        end = text.find("\n", position)
        end = len(text) if end < 0 else end
        line = text[position:end].strip()
        if line and not line.startswith("#"):
            break
        position, skipped = end + 1, skipped + 1
    if not skipped:
        return read_csv_text(raw)
    frame = read_csv_text(RawFile(raw.name, text[position:].encode("utf-8"), raw.release))
    return frame.with_columns(pl.col("source_row") + skipped)


def _read_xlsx(raw: RawFile, layout: LocalLayout) -> pl.DataFrame:
    """All-text frame of the first sheet, `source_row` being the sheet's row number.

    The header is the first of the top rows that names every required column (exports often put a
    title or a run date above it); blank rows are kept while reading so row numbers stay true.
    """
    try:
        sheet = pl.read_excel(io.BytesIO(raw.content), sheet_id=1, has_header=False, infer_schema_length=0,
                              drop_empty_rows=False, drop_empty_cols=False)
    except Exception as exc:  # calamine raises its own types for damaged workbooks
        raise SourceFormatError(raw.name, f"could not be read as an Excel workbook ({exc})") from exc
    sheet = sheet.with_row_index("source_row", offset=1).with_columns(pl.col("source_row").cast(pl.Int64))
    header_index = 0
    for index, row in enumerate(sheet.head(XLSX_HEADER_SEARCH_ROWS).iter_rows()):
        try:
            found = layout.resolve([str(v) for v in row[1:] if v not in (None, "")], raw.name)
        except SourceFormatError:
            continue
        if all(c in found for c in layout.required):
            header_index = index
            break
    names: list[str] = []
    for i, cell in enumerate(sheet.row(header_index)[1:]):
        name = str(cell).strip() if cell not in (None, "") else f"unnamed_{i}"
        names.append(name if name not in names else f"{name}__{i}")
    body = sheet.slice(header_index + 1)
    return body.rename(dict(zip(body.columns[1:], names, strict=True)))


def read_extract(raw: RawFile, layout: LocalLayout) -> tuple[Extract, pl.DataFrame]:
    """The file as text columns named canonically (absent optional columns are null), plus source_row.

    Columns the layout does not know are left behind (so stray personal columns such as an address
    never travel further); wholly blank rows are dropped; surrounding spaces are trimmed and blank
    cells are null.
    """
    name = raw.base_name.lower()
    if name.endswith(".csv"):
        frame = _read_csv(raw)
    elif name.endswith(".xlsx"):
        frame = _read_xlsx(raw, layout)
    else:
        raise SourceFormatError(raw.name, "local extracts must be CSV (.csv) or Excel (.xlsx) files")
    extract = Extract(raw.name, raw.base_name, layout)
    headers = [c for c in frame.columns if c != "source_row"]
    extract.headers = layout.resolve(headers, raw.name)
    missing = [c for c in layout.required if c not in extract.headers]
    if missing:
        accepted = "; ".join(f"'{c}' (also: {', '.join(layout.column(c).aliases[:6])})" for c in missing)
        raise SourceFormatError(raw.name, f"looks like the {layout.title} but lacks the required column(s) {accepted}")
    for group in layout.one_of:
        if not any(c in extract.headers for c in group):
            raise SourceFormatError(raw.name, f"needs at least one of the columns {', '.join(map(repr, group))}")
    ignored = [h for h in headers if h not in extract.headers.values()]
    if ignored:
        log.info("%s: columns not in the layout are not loaded: %s", raw.name, ", ".join(ignored))
    text = frame.select(
        "source_row",
        *[pl.col(header).cast(pl.String).str.strip_chars().alias(canonical)
          for canonical, header in extract.headers.items()],
    )
    text = text.with_columns(
        *[pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in extract.headers],
        *[pl.lit(None, pl.String).alias(c.name) for c in layout.columns if c.name not in extract.headers],
    )
    content = [c.name for c in layout.columns]
    return extract, text.filter(~pl.all_horizontal(pl.col(content).is_null()))


def _rows_text(rows: list[int], limit: int = 5) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def drop_exact_duplicates(frame: pl.DataFrame, extract: Extract) -> pl.DataFrame:
    """Rows identical in every column are export artefacts: the first is kept, the rest dropped with a warning."""
    content = [c for c in frame.columns if c != "source_row"]
    repeated = frame.filter(frame.select(content).is_duplicated())
    if not repeated.height:
        return frame
    kept = frame.unique(subset=content, keep="first", maintain_order=True)
    dropped = sorted(set(repeated["source_row"].to_list()) - set(kept["source_row"].to_list()))
    log.warning("%s: %d row(s) exactly repeat an earlier row and were dropped (rows %s)", extract.file,
                len(dropped), _rows_text(dropped))
    return kept


def check_unique(frame: pl.DataFrame, key: list[str], extract: Extract, what: str) -> None:
    """Rows sharing `key` but differing elsewhere: an error naming the rows and a column that differs."""
    clashes = frame.filter(pl.struct(key).is_duplicated() & pl.all_horizontal(pl.col(key).is_not_null()))
    if not clashes.height:
        return
    first_key = clashes.select(key).row(0)
    group = clashes.filter(pl.all_horizontal([pl.col(k) == v for k, v in zip(key, first_key, strict=True)]))
    differing = [c for c in frame.columns if c not in ("source_row", *key) and group[c].n_unique() > 1]
    rows = group["source_row"].to_list()
    others = clashes.select(key).n_unique() - 1
    raise extract.error(
        f"{what} appears on rows {_rows_text(rows)} with different values"
        + (f" (column '{extract.header(differing[0])}' differs)" if differing else "")
        + (f"; {others} more {what}s are repeated like this" if others else "")
        + ". Each must appear once: correct the extract at source and export it again",
        row=rows[0], column=key[0])


# ---------------------------------------------------------------------------------------------
# Typed columns: each distinct text is parsed once, and the first bad cell stops the file


def parse_date_text(text: str) -> dt.date:
    """A date in one of the accepted formats; ValueError says why not."""
    s = text.strip()
    if m := re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?)?", s):
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    elif m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?: \d{1,2}:\d{2}(?::\d{2})?)?", s):
        d, mo, y = int(m[1]), int(m[2]), int(m[3])
    elif m := re.fullmatch(r"(\d{4})(\d{2})(\d{2})", s):
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    elif m := re.fullmatch(r"(\d{5})(?:\.\d+)?", s):
        value = EXCEL_EPOCH + dt.timedelta(days=int(m[1]))
        if not EARLIEST_DATE <= value <= LATEST_DATE:
            raise ValueError("is an Excel serial number outside 1900-2099")
        return value
    elif m := re.fullmatch(r"(\d{1,2})[ -]([A-Za-z]{3,9})\.?[ ,-]*(\d{4})", s):
        d, mo, y = int(m[1]), _month_number(m[2]), int(m[3])
    elif re.fullmatch(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2}", s):
        raise ValueError("has a two-digit year; export dates with four-digit years (dd/mm/yyyy)")
    else:
        raise ValueError(f"is not a date in an accepted format ({DATE_FORMATS_TEXT})")
    try:
        value = dt.date(y, mo, d)
    except ValueError:
        raise ValueError("is not a real calendar date") from None
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError("is outside 1900-2099")
    return value


_MONTHS = {name: i for i, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")], start=1) for name in names}


def _month_number(name: str) -> int:
    try:
        return _MONTHS[name.lower()]
    except KeyError:
        raise ValueError("has an unknown month name") from None


def parse_month_text(text: str) -> dt.date:
    """The first day of a reporting month: '2025-03', '03/2025', 'Mar 2025', 'March-25' or any full date."""
    s = text.strip()
    if m := re.fullmatch(r"(\d{4})[-/ .]?(\d{1,2})", s):
        y, mo = int(m[1]), int(m[2])
    elif m := re.fullmatch(r"(\d{1,2})[-/ .](\d{4})", s):
        mo, y = int(m[1]), int(m[2])
    elif m := re.fullmatch(r"([A-Za-z]{3,9})\.?[ -]*(\d{4}|\d{2})", s):
        mo, y = _month_number(m[1]), int(m[2]) + (2000 if len(m[2]) == 2 else 0)
    else:
        try:
            return parse_date_text(s).replace(day=1)
        except ValueError:
            raise ValueError("is not a month (accepted: yyyy-mm, mm/yyyy, 'Mar 2025', 'Mar-25' or a date)") from None
    if not 1 <= mo <= 12 or not 1900 <= y <= 2099:
        raise ValueError("is not a real month")
    return dt.date(y, mo, 1)


def parse_column(frame: pl.DataFrame, column: str, parse: Callable[[str], object], dtype: pl.DataType,
                 extract: Extract) -> pl.Series:
    """`column` parsed by `parse` (each distinct text once); the first failing cell raises, naming row and column.

    No cell is quoted in the message, whatever its column (messages are stored in meta.file_loads and
    runs.jsonl, and a name typed into a code column is still a name): file, row, column and the kind
    of problem only.
    """
    text = frame[column]
    distinct = text.drop_nulls().unique().to_list()
    parsed: dict[str, object] = {}
    failed: dict[str, str] = {}
    for value in distinct:
        try:
            parsed[value] = parse(value)
        except ValueError as exc:
            failed[value] = str(exc)
    if failed:
        bad = frame.filter(pl.col(column).is_in(list(failed))).select("source_row", column)
        row, value = bad.row(0)
        more = f" ({bad.height - 1} more cell(s) in this column have the same problem)" if bad.height > 1 else ""
        raise extract.error(f"{NOT_QUOTED} {failed[value]}{more}", row=row, column=column)
    if not parsed:
        return pl.Series(column, [None] * len(text), dtype=dtype)
    return text.replace_strict(list(parsed), pl.Series(list(parsed.values()), dtype=dtype), default=None,
                               return_dtype=dtype)


def parse_dates(frame: pl.DataFrame, column: str, extract: Extract) -> pl.Series:
    return parse_column(frame, column, parse_date_text, pl.Date, extract)


def _code_parser(codes: dict[str, str], what: str) -> Callable[[str], str]:
    accepted = sorted(set(codes.values()))

    def parse(value: str) -> str:
        code = codes.get(normalise_code(value))
        if code is None:
            raise ValueError(f"is not a known {what} (accepted: {', '.join(accepted)}; spellings in "
                             "docs/local-extracts.md)")
        return code
    return parse


def parse_codes(frame: pl.DataFrame, column: str, extract: Extract) -> pl.Series:
    spec = extract.layout.column(column)
    return parse_column(frame, column, _code_parser(spec.codes or {}, column.replace("_", " ")), pl.String, extract)


def parse_flags(frame: pl.DataFrame, column: str, extract: Extract) -> pl.Series:
    def parse(value: str) -> bool:
        code = YES_NO.get(normalise_code(value))
        if code is None:
            raise ValueError("is not yes or no (accepted: yes/no, y/n, true/false, 1/0)")
        return code == "yes"
    return parse_column(frame, column, parse, pl.Boolean, extract)


def parse_activity(frame: pl.DataFrame, column: str, extract: Extract) -> pl.Series:
    def parse(value: str) -> str:
        code = re.sub(r"\.0+$", "", value.strip())
        if code.isdigit():
            if code not in NCCIS_ACTIVITY_CODES:
                raise ValueError("is not a known NCCIS activity code (accepted: 110-190, 210-290, 310-350, "
                                 "410-430, 510-550, 610-680, 710-730, 810-830)")
            return NCCIS_ACTIVITY_CODES[code]
        activity = ACTIVITY_SPELLINGS.get(normalise_code(value))
        if activity is None:
            raise ValueError(f"is not a known activity (accepted: {', '.join(ACTIVITIES)}, or an NCCIS "
                             "numeric activity code)")
        return activity
    return parse_column(frame, column, parse, pl.String, extract)


def parse_numbers(frame: pl.DataFrame, column: str, extract: Extract, *, integer: bool,
                  required: bool = False) -> pl.Series:
    """Non-negative numbers ('1,234' accepted); `integer` refuses fractions, `required` refuses blanks."""
    text = frame[column]
    cleaned = text.str.replace_all(",", "").str.replace(r"^(\d+)\.0+$", "$1")
    number = cleaned.cast(pl.Float64, strict=False)
    problems = [
        (text.is_not_null() & number.is_null(), "is not a number"),
        (number < 0, "is negative"),
    ]
    if integer:
        problems.append((number.is_not_null() & (number != number.floor()), "is not a whole number"))
    if required:
        problems.append((text.is_null(), "is blank; a count is required on every row"))
    problems.insert(1, (number.is_nan() | number.is_infinite(), "is not a finite number (nan or inf)"))
    for mask, problem in problems:
        bad = frame.filter(mask.fill_null(False))
        if bad.height:
            row, value = bad.select("source_row", column).row(0)
            shown = NOT_QUOTED if value is not None else "the cell"
            more = f" ({bad.height - 1} more cell(s) like it)" if bad.height > 1 else ""
            raise extract.error(f"{shown} {problem}{more}", row=row, column=column)
    return number.cast(pl.Int64) if integer else number


def fail_where(frame: pl.DataFrame, mask: pl.Expr, extract: Extract, column: str, problem: str) -> None:
    """Raise for the first row where `mask` holds (a cross-column consistency rule)."""
    bad = frame.filter(mask.fill_null(False))
    if bad.height:
        more = f" ({bad.height - 1} more row(s) like it)" if bad.height > 1 else ""
        raise extract.error(problem + more, row=bad["source_row"][0], column=column)


def date_from_file_name(base_name: str) -> dt.date | None:
    """`ehcp_casework_2025-03-31.csv` -> 2025-03-31; `..._2025-03.csv` or `..._202503` -> 2025-03-31."""
    stem = base_name.rsplit(".", 1)[0]
    if m := re.search(r"(?<!\d)(20\d{2})[-_]?(\d{2})[-_]?(\d{2})(?!\d)", stem):
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    if m := re.search(r"(?<!\d)(20\d{2})[-_]?(\d{2})(?!\d)", stem):
        if 1 <= int(m[2]) <= 12:
            first = dt.date(int(m[1]), int(m[2]), 1)
            return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return None


def check_extract_period(extract: Extract, in_content: list[dt.date], from_name: dt.date | None, column: str,
                         what: str, today: dt.date | None = None) -> None:
    """The period an extract is for, from its name and its content (months, as their first days): refused
    when it is in the future, or when the name's month is not one the content is for (e.g. last month's
    file copied under this month's name). Dates in the content are never quoted."""
    today = today or dt.date.today()
    this_month = today.replace(day=1)
    if from_name is not None and from_name.replace(day=1) > this_month:
        raise extract.error(f"the file name dates the extract {from_name:%d/%m/%Y}, which is in the future (today "
                            f"is {today:%d/%m/%Y}); correct the date in the file name")
    if any(month > this_month for month in in_content):
        raise extract.error(f"the {what} in the file is in the future (today is {today:%d/%m/%Y}); correct it",
                            column=column)
    if from_name is not None and in_content and from_name.replace(day=1) not in in_content:
        raise extract.error(f"the file name says {from_name:%B %Y} but the {what} in the file is another month, so "
                            "the file may be an earlier extract saved under a new name; correct the file name or "
                            "export the extract again", column=column)


def _single_date(values: pl.Series, frame: pl.DataFrame, extract: Extract, column: str, fallback: dt.date | None,
                 what: str, how: str) -> dt.date:
    distinct = values.drop_nulls().unique()
    if distinct.len() > 1:
        rows = frame.filter(values != distinct.min())["source_row"]
        raise extract.error(f"the {what} differs between rows (an extract has one {what})", row=rows[0], column=column)
    if distinct.len() == 1:
        return distinct[0]
    if fallback is None:
        raise extract.error(f"cannot tell the {what}: {how}")
    return fallback


def month_start(expr: pl.Expr) -> pl.Expr:
    return expr.dt.truncate("1mo")


def academic_year(expr: pl.Expr) -> pl.Expr:
    """'202425' for any date from 1 Sep 2024 to 31 Aug 2025 (the EES time_period spelling)."""
    start = expr.dt.year().cast(pl.Int32) - (expr.dt.month() < 9).cast(pl.Int32)
    return start.cast(pl.String) + ((start + 1) % 100).cast(pl.String).str.zfill(2)


def hashed(frame: pl.DataFrame, column: str, extract: Extract, key: bytes) -> pl.Series:
    spec = extract.layout.column(column)
    return keyed_hash(frame[column], spec.id_kind or "person", key)


# ---------------------------------------------------------------------------------------------
# The five readers


def read_local_casework(source: RawFile | Path, key: str | bytes | None = None) -> pl.DataFrame:
    """EHCP casework extract -> raw.local_ehcp_casework (one row per request, pseudonymised).

    `key` is the pseudonymisation secret (default: SEND_PSEUDONYM_KEY). Exact duplicate rows are
    dropped with a warning; a request id repeated with different values is an error.
    """
    hmac_key = pseudonym_key(key)
    raw = _as_raw(source)
    extract, text = read_extract(raw, CASEWORK)
    for column, what in (("request_id", "request id"), ("person_id", "person id")):
        fail_where(text, pl.col(column).is_null(), extract, column, f"the {what} is blank")
    text = drop_exact_duplicates(text, extract)
    check_unique(text, ["request_id"], extract, "request id")
    date_columns = ("date_of_birth", "request_received_date", "decision_to_assess_date", "assessment_outcome_date",
                    "plan_issue_date", "mediation_date", "tribunal_date", "plan_ceased_date", "extract_date")
    parsed = pl.DataFrame({
        "source_row": text["source_row"],
        **{c: parse_dates(text, c, extract) for c in date_columns},
        **{c: parse_flags(text, c, extract) for c in ("decision_to_assess", "exception_flag", "mediation_flag",
                                                         "tribunal_flag")},
        **{c: parse_codes(text, c, extract) for c in ("assessment_outcome", "placement_type", "placement_location")},
        "exception_reason_given": text["exception_reason"].is_not_null(),
    })
    from_name = date_from_file_name(raw.base_name)
    extract_date = _single_date(parsed["extract_date"], parsed, extract, "extract_date", from_name, "extract date",
                                "name the file with its date (e.g. ehcp_casework_2025-03-31.csv) or add an "
                                "'Extract date' column")
    in_content = [extract_date.replace(day=1)] if parsed["extract_date"].is_not_null().any() else []
    check_extract_period(extract, in_content, from_name, "extract_date", "extract date")
    parsed = parsed.with_columns(pl.lit(extract_date).alias("extract_date"))
    # A plan issued without a plan issue date takes the outcome date; a blank outcome is inferred.
    outcome = pl.col("assessment_outcome")
    parsed = parsed.with_columns(
        pl.when(pl.col("plan_issue_date").is_null() & (outcome == "plan_issued"))
        .then(pl.col("assessment_outcome_date")).otherwise(pl.col("plan_issue_date")).alias("plan_issue_date"),
    ).with_columns(
        pl.when(outcome.is_not_null()).then(outcome)
        .when(pl.col("plan_issue_date").is_not_null()).then(pl.lit("plan_issued"))
        .when(pl.col("decision_to_assess") == False).then(pl.lit("not_assessed"))  # noqa: E712
        .otherwise(pl.lit("ongoing")).alias("assessment_outcome"),
    )
    _check_casework(parsed, extract, extract_date)
    age = age_in_years(pl.col("date_of_birth"), pl.col("request_received_date"))
    mediation = pl.col("mediation_flag").fill_null(False) | pl.col("mediation_date").is_not_null()
    tribunal = pl.col("tribunal_flag").fill_null(False) | pl.col("tribunal_date").is_not_null()
    undated = parsed.filter((mediation & pl.col("mediation_date").is_null())
                            | (tribunal & pl.col("tribunal_date").is_null())).height
    if undated:
        log.warning("%s: %d request(s) record mediation or a tribunal appeal without its date; they are "
                    "loaded but cannot be counted in a month", raw.name, undated)
    return parsed.select(
        "extract_date",
        hashed(text, "request_id", extract, hmac_key).alias("request_key"),
        hashed(text, "person_id", extract, hmac_key).alias("person_key"),
        hashed(text, "upn", extract, hmac_key).alias("upn_key"),
        age.alias("age_at_request"),
        age_band(age).alias("age_band_at_request"),
        "request_received_date", "decision_to_assess", "decision_to_assess_date", "assessment_outcome",
        "assessment_outcome_date", "plan_issue_date",
        # A reason given with the flag left blank still records an exception (the reason text is dropped).
        pl.coalesce(pl.col("exception_flag"), pl.col("exception_reason_given")).alias("exception_flag"),
        "exception_reason_given",
        mediation.alias("mediation"), "mediation_date", tribunal.alias("tribunal"), "tribunal_date",
        "placement_type", "placement_location", "plan_ceased_date", "source_row",
    )


def _check_casework(parsed: pl.DataFrame, extract: Extract, extract_date: dt.date) -> None:
    """The cross-column rules the KPIs rely on; each names the first row that breaks it."""
    issued, received = pl.col("plan_issue_date"), pl.col("request_received_date")
    outcome = pl.col("assessment_outcome")
    fail_where(parsed, received.is_null(), extract, "request_received_date", "the request received date is blank")
    fail_where(parsed, pl.col("date_of_birth").is_null(), extract, "date_of_birth", "the date of birth is blank")
    fail_where(parsed, (outcome == "plan_issued") & issued.is_null(), extract, "plan_issue_date",
               "the outcome is 'plan issued' but neither a plan issue date nor an outcome date is given")
    fail_where(parsed, outcome.is_in(["not_issued", "not_assessed", "withdrawn", "ongoing"]) & issued.is_not_null(),
               extract, "assessment_outcome", "a plan issue date is given but the outcome says no plan was issued")
    fail_where(parsed, issued < received, extract, "plan_issue_date",
               "the plan issue date is before the request received date")
    fail_where(parsed, pl.col("plan_ceased_date") < issued, extract, "plan_ceased_date",
               "the plan ceased date is before the plan issue date")
    fail_where(parsed, pl.col("plan_ceased_date").is_not_null() & issued.is_null(), extract, "plan_ceased_date",
               "a plan ceased date is given for a request without an issued plan")
    fail_where(parsed, pl.col("date_of_birth") > received, extract, "date_of_birth",
               "the date of birth is after the request received date")
    for column in ("request_received_date", "decision_to_assess_date", "assessment_outcome_date", "plan_issue_date",
                   "mediation_date", "tribunal_date", "plan_ceased_date"):
        fail_where(parsed, pl.col(column) > extract_date, extract, column,
                   f"the date is after the extract date ({extract_date:%d/%m/%Y})")


def read_local_exclusions(source: RawFile | Path, key: str | bytes | None = None) -> pl.DataFrame:
    """Exclusions log -> raw.local_exclusions (one row per suspension or permanent exclusion)."""
    hmac_key = pseudonym_key(key)
    raw = _as_raw(source)
    extract, text = read_extract(raw, EXCLUSIONS)
    text = drop_exact_duplicates(text, extract)
    parsed = pl.DataFrame({
        "source_row": text["source_row"],
        "exclusion_date": parse_dates(text, "exclusion_date", extract),
        "date_of_birth": parse_dates(text, "date_of_birth", extract),
        "exclusion_type": parse_codes(text, "exclusion_type", extract),
        "sen_provision": parse_codes(text, "sen_provision", extract),
        "sessions": parse_numbers(text, "sessions", extract, integer=False),
        "school": text["school"],
    })
    for column in ("exclusion_date", "exclusion_type", "school"):
        fail_where(parsed, pl.col(column).is_null(), extract, column, f"the {column.replace('_', ' ')} is blank")
    fail_where(parsed, text["pupil_id"].is_null() & text["upn"].is_null(), extract,
               "pupil_id" if "pupil_id" in extract.headers else "upn", "the row has neither a pupil id nor a UPN")
    fail_where(parsed, pl.col("date_of_birth") > pl.col("exclusion_date"), extract, "date_of_birth",
               "the date of birth is after the exclusion date")
    age = age_in_years(pl.col("date_of_birth"), pl.col("exclusion_date"))
    return parsed.select(
        hashed(text, "pupil_id", extract, hmac_key).alias("pupil_key"),
        hashed(text, "upn", extract, hmac_key).alias("upn_key"),
        age.alias("age_at_exclusion"), age_band(age).alias("age_band"),
        "school", "exclusion_date",
        month_start(pl.col("exclusion_date")).alias("month"),
        academic_year(pl.col("exclusion_date")).alias("academic_year"),
        "exclusion_type", "sessions",
        pl.col("sen_provision").fill_null("not_recorded"),
        "source_row",
    )


TOTAL_ROW_LABELS = ("total", "totals", "grand total", "(total)", "all pages")


def read_local_offer_visits(source: RawFile | Path, key: str | bytes | None = None) -> pl.DataFrame:
    """Local Offer web analytics (GA4-like) -> raw.local_offer_visits (one row per day and page).

    Holds no personal data, so no key is needed. A totals row ('Total' / 'Grand total')
    (in the date or the page column, the other blank) is dropped with a log line; GA4's '#' comment lines above the header are skipped.
    """
    raw = _as_raw(source)
    extract, text = read_extract(raw, LOCAL_OFFER_VISITS)
    def label(column: str) -> pl.Expr:
        return pl.col(column).str.to_lowercase().is_in(list(TOTAL_ROW_LABELS)).fill_null(False)

    totals = text.select((label("page_path") & pl.col("visit_date").is_null())
                         | (label("visit_date") & pl.col("page_path").is_null())).to_series()
    if totals.any():
        log.info("%s: %d totals row(s) dropped", raw.name, int(totals.sum()))
        text = text.filter(~totals)
    text = drop_exact_duplicates(text, extract)
    parsed = pl.DataFrame({
        "source_row": text["source_row"],
        "visit_date": parse_dates(text, "visit_date", extract),
        **{c: parse_numbers(text, c, extract, integer=True, required=True) for c in ("page_views", "sessions",
                                                                                     "users")},
    })
    fail_where(parsed, pl.col("visit_date").is_null(), extract, "visit_date", "the date is blank")
    fail_where(parsed, text["page_path"].is_null(), extract, "page_path", "the page path is blank")
    return parsed.select(
        "visit_date", month_start(pl.col("visit_date")).alias("month"),
        local_offer_paths(text, extract), "page_views", "sessions", "users", "source_row",
    )


def local_offer_paths(text: pl.DataFrame, extract: Extract) -> pl.Series:
    """The page paths as the KPIs need them (pseudonymise.page_path_only): no host, query string or
    fragment; segments that look like an e-mail, a name, a UPN, an NHS number or a date are refused
    (stored as '[refused]') and the rows are named in a warning, without the path."""
    distinct = text["page_path"].drop_nulls().unique().to_list()
    cut = {url: page_path_only(url) for url in distinct}
    refused = {url for url, (_, was_refused) in cut.items() if was_refused}
    if refused:
        rows = text.filter(pl.col("page_path").is_in(list(refused)))["source_row"].to_list()
        log.warning("%s: %d page path(s) had a segment that looks like personal data (an e-mail address, a "
                    "name, a UPN, an NHS number or a date); it was stored as %s (rows %s)", extract.file,
                    len(rows), REFUSED_SEGMENT, _rows_text(rows))
    return text["page_path"].replace_strict(list(cut), [path for path, _ in cut.values()], default=None,
                                            return_dtype=pl.String).alias("page_path")


def read_local_training(source: RawFile | Path, key: str | bytes | None = None) -> pl.DataFrame:
    """Training records -> raw.local_training (one row per staff member, course and completion).

    Rows without a completion date are enrolments, not completions: they are not loaded (logged).
    """
    hmac_key = pseudonym_key(key)
    raw = _as_raw(source)
    extract, text = read_extract(raw, TRAINING)
    text = drop_exact_duplicates(text, extract)
    completed = parse_dates(text, "completed_date", extract)
    fail_where(text, pl.col("staff_id").is_null(), extract, "staff_id", "the staff id is blank")
    fail_where(text, pl.col("course").is_null(), extract, "course", "the course is blank")
    not_completed = int(completed.is_null().sum())
    if not_completed:
        log.info("%s: %d row(s) without a completion date (not completed) are not loaded", raw.name, not_completed)
    frame = text.with_columns(completed.alias("completed_date_parsed"),
                              hashed(text, "staff_id", extract, hmac_key).alias("staff_key"))
    frame = frame.filter(pl.col("completed_date_parsed").is_not_null())
    return frame.select(
        "staff_key", "course", "organisation",
        pl.col("completed_date_parsed").alias("completed_date"),
        month_start(pl.col("completed_date_parsed")).alias("month"),
        academic_year(pl.col("completed_date_parsed")).alias("academic_year"),
        "source_row",
    )


def read_local_post16(source: RawFile | Path, key: str | bytes | None = None) -> pl.DataFrame:
    """Post-16 tracking caseload -> raw.local_post16_tracking (one row per young person and month).

    The month comes from a 'Month' column or else from the file name (nccis_post16_2025-03.csv).
    A young person listed twice in a month with different details is an error.
    """
    hmac_key = pseudonym_key(key)
    raw = _as_raw(source)
    extract, text = read_extract(raw, POST16)
    fail_where(text, pl.col("young_person_id").is_null(), extract, "young_person_id", "the young person id is blank")
    month = parse_column(text, "month", parse_month_text, pl.Date, extract)
    from_name = date_from_file_name(raw.base_name)
    check_extract_period(extract, month.drop_nulls().unique().to_list(), from_name, "month", "month")
    if month.is_null().all():
        if from_name is None:
            raise extract.error("cannot tell which month the caseload is for: name the file with its month "
                                "(e.g. nccis_post16_2025-03.csv) or add a 'Month' column")
        month = pl.Series("month", [from_name.replace(day=1)] * text.height, dtype=pl.Date)
    fail_where(text.with_columns(month), pl.col("month").is_null(), extract, "month", "the month is blank")
    text = drop_exact_duplicates(text.with_columns(month.cast(pl.String).alias("month")), extract)
    check_unique(text, ["young_person_id", "month"], extract, "young person id (in the same month)")
    parsed = pl.DataFrame({
        "source_row": text["source_row"],
        "month": text["month"].str.to_date("%Y-%m-%d"),
        "date_of_birth": parse_dates(text, "date_of_birth", extract),
        "send_status": parse_codes(text, "send_status", extract),
        "activity": parse_activity(text, "activity_code", extract),
        "social_care_activity": parse_flags(text, "social_care_activity", extract),
        "living_arrangement": parse_codes(text, "living_arrangement", extract),
        "annual_health_check": parse_flags(text, "annual_health_check", extract),
    })
    month_end = pl.col("month").dt.month_end()
    fail_where(parsed, pl.col("date_of_birth").is_null(), extract, "date_of_birth", "the date of birth is blank")
    fail_where(parsed, pl.col("activity").is_null(), extract, "activity_code", "the activity is blank")
    fail_where(parsed, pl.col("date_of_birth") > month_end, extract, "date_of_birth",
               "the date of birth is after the month reported")
    code = text["activity_code"].str.replace(r"\.0+$", "")
    age = age_in_years(pl.col("date_of_birth"), month_end)
    return parsed.select(
        "month",
        hashed(text, "young_person_id", extract, hmac_key).alias("young_person_key"),
        hashed(text, "upn", extract, hmac_key).alias("upn_key"),
        age.alias("age_at_month_end"),
        academic_age(pl.col("date_of_birth"), month_end).alias("academic_age"),
        age_band(age).alias("age_band"),
        pl.col("send_status").fill_null("not_recorded"),
        pl.when(code.str.contains(r"^\d+$")).then(code).otherwise(None).alias("nccis_activity_code"),
        "activity", "social_care_activity", "living_arrangement", "annual_health_check", "source_row",
    )


LOCAL_READERS: dict[str, Callable[..., pl.DataFrame]] = {
    "local_ehcp_casework": read_local_casework,
    "local_exclusions": read_local_exclusions,
    "local_offer_visits": read_local_offer_visits,
    "local_training": read_local_training,
    "local_post16_tracking": read_local_post16,
}
