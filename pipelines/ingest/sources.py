"""The registry of source types: one entry per raw table, and how a file is matched to one.

A file's source is decided from its name (a pattern) and confirmed by its header (the required
columns). A file that matches nothing gets an error listing the sources the pipeline knows.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from pipelines.errors import SourceFormatError, UnknownSourceError

# Columns every EES tidy file shares (lower-cased); `country_name` is dropped as redundant.
EES_GEOGRAPHY_COLUMNS = (
    "time_period", "time_identifier", "geographic_level", "country_code", "region_code",
    "region_name", "new_la_code", "old_la_code", "la_name",
)
EES_DROPPED_COLUMNS = ("country_name",)
EES_GRAIN = ("time_period", "geographic_level", "region_code", "new_la_code")
EES_GEO_LABEL = ("coalesce(new_la_code, region_code, geographic_level) || ' ' "
                 "|| coalesce(la_name, region_name, '')")


@dataclass(frozen=True)
class SourceSpec:
    """One source type: its raw table, file family and schema contract.

    family: which reader reads it (ees_csv, ees_xlsx, lait, lait_dictionary, lait_la_list,
    statistical_neighbours, la_reference, ees_metadata).
    required: canonical (lower-case) columns that must be present.
    filters: EES text columns kept as dimensions; every other non-geography column is numeric.
    aliases: other spellings seen in other years -> canonical name.
    grain: what a release covers (design.md section 8): for each value of these columns the rows of
    the newest release are current and older ones stay, marked superseded (pipelines/ingest/releases.py).
    Empty (local extracts): replace_by applies instead, a new file replaces the rows of earlier files
    that share these columns' values (empty too: the whole table).
    order_columns: the period columns whose latest value orders releases of this source.
    release_group: sources whose releases compete for the same figures (the EHC plans tables and the
    older EHC plans main table, whose rows name their table in `target_source` when target_column).
    geo_columns, geo_label, period_column: what the load summary names when a newer release no
    longer carries a geography or period; warn_missing_periods: whether a missing period is worth it.
    max_refused_share: the share of a file's rows that may be set aside because they cannot be keyed
    to an LA (pipelines/ingest/row_keys.py); more refuses the file.
    month_from_name: for a local extract whose month its file name may give, the raw column holding that
    month: the same bytes under a name for another month are read again (loaded as that month, or
    refused with the reason), never skipped as "already loaded".
    """

    table: str
    family: str
    title: str
    name_pattern: str
    required: tuple[str, ...]
    filters: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
    replace_by: tuple[str, ...] = ("time_period",)
    load_order: int = 50
    key: tuple[str, ...] = ()
    grain: tuple[str, ...] = EES_GRAIN
    order_columns: tuple[str, ...] = ("time_period",)
    release_group: str | None = None
    target_column: bool = False
    geo_columns: tuple[str, ...] = ("geographic_level", "region_code", "new_la_code")
    geo_label: str = EES_GEO_LABEL
    period_column: str | None = "time_period"
    warn_missing_periods: bool = True
    max_refused_share: float = 0.01
    month_from_name: str | None = None

    @property
    def is_reference(self) -> bool:
        """A source the others are read or checked against (the LA reference, LAIT's LA list and dictionary,
        the statistical neighbours): loaded before them (load_order below 10)."""
        return self.load_order < 10

    def matches_name(self, base_name: str) -> bool:
        return re.search(self.name_pattern, without_copy_number(base_name), flags=re.IGNORECASE) is not None

    @property
    def example_name(self) -> str:
        """`timeliness_20_week` from /^timeliness_20_week\\.csv(\\.gz)?$/: what its files are called."""
        stem = re.split(r"\\\.|\.\*|\(\?!", self.name_pattern)[0]
        stem = re.sub(r"\(([^)|]*)\|[^)]*\)", r"\1", stem)
        return re.sub(r"[\^$()?\\]", "", stem)

    def canonical(self, column: str) -> str:
        name = column.strip().lower()
        return self.aliases.get(name, name)

    def check_header(self, file: str, columns: list[str]) -> None:
        present = {self.canonical(c) for c in columns}
        missing = [c for c in self.required if c not in present]
        if missing:
            raise SourceFormatError(
                file,
                f"looks like {self.title} ({self.table}) but lacks the required column(s) "
                + ", ".join(f"'{c}'" for c in missing),
            )


_EHCP = ("breakdown_topic", "breakdown")
_EHCP_KEY = ("time_period", "geographic_level", "region_code", "new_la_code", "breakdown_topic", "breakdown", "measure")


def _ehcp(table: str, stem: str, title: str, required: tuple[str, ...], aliases=None) -> SourceSpec:
    return SourceSpec(
        table=table, family="ees_csv", title=f"EHC plans release: {title}",
        name_pattern=rf"^{stem}\.csv(\.gz)?$", required=("time_period", "geographic_level", *required),
        filters=_EHCP, aliases=aliases or {}, key=_EHCP_KEY, release_group="ehcp",
    )


SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec(
        table="la_reference", family="la_reference", title="LA reference (codes, names, regions, dates)",
        name_pattern=r"^la_lookup.*\.csv$", required=("new_la_code", "old_la_code", "la_name", "date_of_operation"),
        replace_by=(), load_order=0, key=("new_la_code",), grain=("new_la_code",),
        order_columns=("date_of_operation", "date_of_termination"), geo_columns=("new_la_code",),
        geo_label="new_la_code || ' ' || coalesce(la_name, '')", period_column=None,
    ),
    SourceSpec(
        table="lait_la_list", family="lait_la_list", title="LAIT LA code list",
        name_pattern=r"^la_code_list.*\.xlsx$", required=("la number", "la name", "region"),
        replace_by=(), load_order=1, key=("la_number",), grain=("la_number",), order_columns=(),
        geo_columns=("la_number",), geo_label="cast(la_number as varchar) || ' ' || coalesce(la_name, '')",
        period_column=None,
    ),
    SourceSpec(
        table="statistical_neighbours", family="statistical_neighbours",
        title="DfE statistical neighbour groups", name_pattern=r"^sn_.*\.xlsx$",
        required=("la num", "sn1", "sn10"), replace_by=("vintage",), load_order=2,
        key=("vintage", "la_number", "neighbour_rank"), grain=("vintage", "la_number"), order_columns=("vintage",),
        geo_columns=("la_number",), geo_label="cast(la_number as varchar) || ' ' || coalesce(la_name, '')",
        period_column="vintage", warn_missing_periods=False,
    ),
    SourceSpec(
        table="lait_data_dictionary", family="lait_dictionary", title="LAIT data dictionary",
        name_pattern=r"lait_data_dictionary.*\.csv$", required=("measure_short", "measure", "polarity"),
        replace_by=(), load_order=3, key=("measure_short",), grain=("measure_short",), order_columns=(),
        geo_columns=(), period_column=None,
    ),
    SourceSpec(
        table="lait_indicators", family="lait", title="LAIT long data set",
        name_pattern=r"^bds_long.*\.(parquet|csv)$",
        required=("short desc", "years", "la and regions", "values", "la number"),
        replace_by=("measure_short",), load_order=10, key=("measure_short", "years", "la_number"),
        grain=("measure_short", "years", "la_number"), order_columns=("years",), geo_columns=("la_number",),
        geo_label="cast(la_number as varchar) || ' ' || coalesce(la_and_regions, '')", period_column="years",
        warn_missing_periods=False,
    ),
    _ehcp("ehcp_timeliness", "timeliness_20_week", "new plans issued within 20 weeks",
          ("plans_issued_den", "plans_issued_den_ex", "plans_issued_within_20_weeks", "plans_issued_20_weeks_ex",
           "pc_plans_issued_within_20_weeks", "pc_plans_issued_20_weeks_ex"),
          aliases={"pc_plans_issued_within_20_weeks_ex": "pc_plans_issued_20_weeks_ex",
                   "plans_issued_within_20_weeks_ex": "plans_issued_20_weeks_ex",
                   "pc_plans_issued_20_weeks": "pc_plans_issued_within_20_weeks",
                   "plans_issued_20_weeks": "plans_issued_within_20_weeks"}),
    _ehcp("ehcp_caseload", "caseload", "EHC plans caseload (January)", ("ehcplans",),
          aliases={"ehc_plans": "ehcplans", "total_ehc_plans": "ehcplans"}),
    _ehcp("ehcp_requests", "requests", "requests for EHC needs assessment", ("requests_received_in_year",)),
    _ehcp("ehcp_newplans", "newplans", "new EHC plans by placement", ("new_ehc_plans",)),
    _ehcp("ehcp_assessments", "assessments", "EHC needs assessments", ("assess_in_year",)),
    _ehcp("ehcp_annual_reviews", "annual_reviews", "annual reviews", ("total_ehc_plans",)),
    _ehcp("ehcp_ceased_plans", "ceased_plans", "ceased EHC plans", ("total_ceased",)),
    _ehcp("ehcp_personal_budgets", "personal_budgets", "personal budgets", ("personal_budget",)),
    _ehcp("ehcp_residential_settings", "residential_settings", "residential settings", ("res_tot",)),
    _ehcp("ehcp_work_based_placements", "work_based_placements", "work-based placements", ("open_wbp",)),
    _ehcp("ehcp_sen_need_newplans", "sen_need_newplans", "primary need of new plans", ("ehc_plans",)),
    _ehcp("ehcp_sen_needs_all_plans", "sen_needs_all_plans", "primary need of all plans", ("ehc_plans",)),
    SourceSpec(
        table="ehcp_main_table", family="ehcp_main_table",
        title="EHC plans release: main table of an earlier edition (SEN2 aggregate return, e.g. 2019, 2023)",
        name_pattern=r"^sen2_mi.*\.csv(\.gz)?$", required=("time_period", "geographic_level"),
        key=("source_row", "source_column"), grain=("target_source", *EES_GRAIN), release_group="ehcp", target_column=True,
    ),
    SourceSpec(
        table="neet_send", family="ees_csv", title="NEET and not known 16-17 year olds by SEND",
        name_pattern=r"neetnk.*\.csv(\.gz)?$",
        required=("time_period", "geographic_level", "neet_nk_ehcp_percent", "neet_nk_sendsupport_percent"),
        filters=("age",), key=("time_period", "geographic_level", "region_code", "new_la_code", "age", "measure"),
    ),
    SourceSpec(
        table="exclusions", family="ees_csv", title="suspensions and permanent exclusions",
        name_pattern=r"^exc_.*\.csv(\.gz)?$",
        required=("time_period", "geographic_level", "perm_excl", "suspension", "headcount"),
        filters=("school_type",),
        key=("time_period", "geographic_level", "region_code", "new_la_code", "school_type", "measure"),
    ),
    SourceSpec(
        table="ees_metadata", family="ees_metadata", title="EES metadata file",
        name_pattern=r"\.meta\.csv$", required=("col_name", "col_type", "label"),
        replace_by=("dataset",), key=("dataset", "col_name"), grain=("dataset", "col_name"), order_columns=(),
        geo_columns=(), period_column=None,
    ),
    SourceSpec(
        table="school_pupils", family="ees_csv", title="school pupils and their characteristics",
        name_pattern=r"^spc_pupils(?!.*\.meta\.csv$).*\.csv(\.gz)?$",
        required=("time_period", "geographic_level", "headcount"),
        filters=("phase_type_grouping", "ethnicity", "language"),
        key=("time_period", "geographic_level", "region_code", "new_la_code", "phase_type_grouping",
             "ethnicity", "language", "measure"),
    ),
    SourceSpec(
        table="ks4_characteristics", family="ees_xlsx", title="key stage 4 by pupil characteristics",
        name_pattern=r"characteristics.*\.xlsx$", required=("time_period", "geographic_level", "sen_status", "avg_att8"),
        filters=("version", "school_characteristic", "breakdown", "gender", "ethnic_major", "free_school_meals",
                 "sen_status", "sen_description", "disadvantage", "first_language"),
    ),
    # Local monthly extracts (docs/local-extracts.md): the readers in pipelines/ingest/local.py resolve the
    # accepted spellings of each column and pseudonymise the rows; `required` mirrors LOCAL_LAYOUTS.
    SourceSpec(
        table="local_ehcp_casework", family="local_casework", title="local EHCP casework extract",
        name_pattern=r"^ehcp?_casework.*\.(csv|xlsx)$",
        required=("person_id", "date_of_birth", "request_id", "request_received_date", "assessment_outcome"),
        replace_by=("extract_date",), load_order=60, grain=(), key=("extract_date", "request_key"),
        month_from_name="extract_date",
    ),
    SourceSpec(
        table="local_exclusions", family="local_exclusions", title="local exclusions log",
        name_pattern=r"^(exclusions|suspensions)_log.*\.(csv|xlsx)$",
        required=("school", "exclusion_date", "exclusion_type", "sen_provision"),
        replace_by=("month",), load_order=61, grain=(),
    ),
    SourceSpec(
        table="local_offer_visits", family="local_offer_visits", title="Local Offer web analytics export",
        name_pattern=r"^(local_offer|web_analytics).*\.(csv|xlsx)$",
        required=("visit_date", "page_path", "page_views", "sessions", "users"),
        replace_by=("visit_date",), load_order=62, grain=(),
    ),
    SourceSpec(
        table="local_training", family="local_training", title="local SEND training records",
        name_pattern=r"^(send_)?training.*\.(csv|xlsx)$", required=("staff_id", "course", "completed_date"),
        replace_by=("month",), load_order=63, grain=(),
    ),
    SourceSpec(
        table="local_post16_tracking", family="local_post16", title="local post-16 tracking caseload (NCCIS-style)",
        name_pattern=r"^(post_?16|nccis).*\.(csv|xlsx)$",
        required=("young_person_id", "date_of_birth", "send_status", "activity_code"),
        replace_by=("month",), load_order=64, grain=(), key=("month", "young_person_key"),
        month_from_name="month",
    ),
    # The scorecard owner's targets (pipelines/ingest/targets.py): a new file replaces the previous one.
    SourceSpec(
        table="kpi_targets", family="kpi_targets", title="scorecard targets file",
        name_pattern=r"^(kpi_)?targets.*\.(csv|xlsx)$",
        required=("la_code", "kpi_id", "from_period", "target", "set_by", "agreed_on"),
        replace_by=(), load_order=70, grain=(),
    ),
    # The SEN2 person-level return (pipelines/ingest/sen2): an XML file (any *.xml) or a flat export
    # (Blade-Export_<date>_<module>.csv, one file per module). Its own loader streams it into the
    # raw.sen2_* tables; this entry is the gate's suite (checked on the requests of every batch) and
    # the name the load log and the data-quality report use. `required` lists the pseudonymised columns.
    SourceSpec(
        table="sen2_requests", family="sen2_return", title="SEN2 person-level return (XML or flat export)",
        name_pattern=r"(\.xml$|^(blade|sen2)[^_]*_.*_(sen2|person|requests|assessment|namedplan|plandetail|"
                     r"activeplans|placementdetail|senneed)\.csv$)",
        required=("request_key", "person_key", "received_date"), replace_by=("extract_date",), load_order=70,
        key=("extract_date", "request_key"),
    ),
)

SOURCES_BY_TABLE = {spec.table: spec for spec in SOURCES}


def known_sources_text() -> str:
    return "; ".join(f"{s.table} ({s.title}, file name like /{s.name_pattern}/)" for s in SOURCES)


def without_copy_number(name: str) -> str:
    """`timeliness_20_week (1).csv` (a browser's second download) -> `timeliness_20_week.csv`."""
    return re.sub(r"\s*\(\d+\)(?=\.[^.]+(\.gz)?$)", "", name)


def nearest_source(base_name: str, header: list[str]) -> tuple[SourceSpec, str]:
    """The known source a file looks most like: by the required columns its header has, else by name."""
    present = {spec_name.strip().lower().lstrip("\ufeff") for spec_name in header}
    scored = []
    for spec in SOURCES:
        own = [c for c in spec.required if c not in EES_GEOGRAPHY_COLUMNS]
        hits = sum(c in present or any(spec.canonical(p) == c for p in present) for c in own)
        scored.append((hits, hits / len(own) if own else 0, spec))
    hits, _, spec = max(scored, key=lambda item: item[:2])
    if hits:
        own = len([c for c in spec.required if c not in EES_GEOGRAPHY_COLUMNS])
        return spec, f"(its header has {hits} of the {own} columns particular to that source)"
    stem = without_copy_number(base_name).lower().split(".")[0]
    spec = max(SOURCES, key=lambda s: difflib.SequenceMatcher(None, stem, s.example_name.lower()).ratio())
    return spec, "(by its name)"


def detect_source(base_name: str, file: str | None = None) -> SourceSpec:
    """The source a file belongs to, from its name; the reader then checks the header."""
    matches = [spec for spec in SOURCES if spec.matches_name(base_name)]
    if not matches:
        raise UnknownSourceError(
            f"{file or base_name}: this file is not one of the sources the pipeline knows. "
            f"Rename it to match one of: {known_sources_text()}"
        )
    return matches[0]
