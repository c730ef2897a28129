"""The quality gate: validate a parsed file with its source's expectation suite before it is loaded.

`validate_frame` runs the suite on the parsed frame (before the raw table changes) and writes nothing
(`send-scorecard check` stops there). `record_gate` then records every result in `dq.validation_runs` /
`dq.expectation_results` and, when a blocking ('fail') expectation failed, writes the file to
`quarantine.files` and its failing rows to `quarantine.rows`, committed before the file's own
transaction, so they persist although the load itself is refused. The loader validates a file in a
worker thread while it writes the file before (pipelines/ingest/loader.py), and records the results
in the loading thread.

Great Expectations runs in an ephemeral context on a pandas copy of the frame holding only the
columns the suite reads (text as categories); see `suites.to_validation_pandas`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import importlib.util
import json
import logging
import math
import os
import sys
import threading
import types
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import duckdb
import polars as pl

from pipelines.ingest.load_log import table_exists, tables_changed
from pipelines.ingest.sources import SourceSpec
from pipelines.ingest.values import text_as_categories
from pipelines.quality.suites import (
    ROW_LOCAL_HELPERS,
    add_helpers,
    distinct_frame,
    expectation_columns,
    helper_source,
    is_shape_expectation,
    load_suite,
    rows_matching,
    to_shape_pandas,
    to_validation_pandas,
)

log = logging.getLogger(__name__)

ROW_SAMPLE = 10  # rows shown per failed expectation (results, check, report)
DISTINCT_MIN_ROWS = 20_000  # below this a file is checked row by row (distinct frames would not pay off)
QUARANTINE_ROWS = 1000  # failing rows kept per failed expectation in quarantine.rows
MIN_SHARE_OF_PREVIOUS = 0.6
ROW_CONTEXT_COLUMNS = ("source_row", "geographic_level", "new_la_code", "la_name", "la_number", "time_period",
                       "years", "measure", "measure_short", "value_raw", "value", "value_status")


@dataclass
class CheckOutcome:
    """One expectation's result in words and numbers."""

    check: str
    expectation: str
    columns: list[str]
    severity: str
    success: bool | None  # None: not checked (a value it needs is not available)
    description: str
    observed: str = ""
    unexpected_count: int | None = None
    sample: list[dict] = field(default_factory=list)
    failure: str = ""  # the failure in one plain sentence (empty when it passed)
    exception: str = ""
    reason: str = ""  # documented quirk behind a warn expectation
    positions: list[int] = field(default_factory=list, repr=False)  # failing rows (frame positions)
    measures: list[str] = field(default_factory=list)  # the measures of the failing rows, if the file has any

    @property
    def result_word(self) -> str:
        if self.success is None:
            return "not checked"
        if self.success:
            return "passed"
        return "FAILED" if self.severity == "fail" else "warning"


@dataclass
class GateResult:
    """The outcome of one validation run of one file."""

    run_id: str
    source: str
    file: str
    sha256: str
    rows: int
    results: list[CheckOutcome]
    started_at: dt.datetime
    finished_at: dt.datetime
    suite_from_file: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[CheckOutcome]:
        return [r for r in self.results if r.success is False and r.severity == "fail"]

    @property
    def warnings(self) -> list[CheckOutcome]:
        return [r for r in self.results if r.success is False and r.severity != "fail"]

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def message(self) -> str:
        """One sentence: what failed (quarantined), or how many warnings there were."""
        if self.failures:
            return f"{self.file} was quarantined: " + "; ".join(r.failure for r in self.failures) + "."
        if self.warnings:
            return (f"{self.file} passed its checks with {len(self.warnings)} warning(s): "
                    + "; ".join(r.failure for r in self.warnings) + ".")
        skipped = [r for r in self.results if r.success is None]
        if skipped:
            return (f"{self.file} passed {len(self.results) - len(skipped)} checks; not checked: "
                    + "; ".join(f"{r.description} ({r.observed})" for r in skipped) + ".")
        return f"{self.file} passed all {len(self.results)} checks."


# --- running the suite ---------------------------------------------------------------------------------

def validate_frame(con: duckdb.DuckDBPyConnection | None, spec: SourceSpec, frame: pl.DataFrame,
                   raw_file_name: str, file_sha256: str, run_id: str | None = None) -> GateResult:
    """Validate `frame` (a parsed file, with lineage) with the suite of `spec`; writes nothing.

    `con` (may be None) supplies values the suite needs: the LA reference, the previous load's rows.
    """
    started = dt.datetime.now()
    run_id = run_id or uuid.uuid4().hex
    from_file = False
    try:
        suite, from_file = load_suite(spec)
        outcomes, notes = _run_suite(con, spec, frame, raw_file_name, file_sha256, suite)
    except Exception as exc:  # the gate itself broke: refuse the load rather than load unchecked data
        log.exception("quality checks of %s could not run", raw_file_name)
        outcomes, notes = [CheckOutcome(
            check="checks_ran", expectation="(validation run)", columns=[], severity="fail", success=False,
            description="The quality checks ran to completion",
            failure=f"the quality checks could not run ({type(exc).__name__}: {exc})", exception=repr(exc),
        )], []
    return GateResult(run_id=run_id, source=spec.table, file=raw_file_name, sha256=file_sha256, rows=frame.height,
                      results=outcomes, started_at=started, finished_at=dt.datetime.now(),
                      suite_from_file=from_file, notes=notes)


def record_gate(con: duckdb.DuckDBPyConnection, result: GateResult, frame: pl.DataFrame) -> None:
    """Record a validation run of `frame` (record_result) and log it in one line."""
    record_result(con, result, frame)
    log.info("%s: %d checks in %.2f s, %d failed, %d warnings", result.file, len(result.results), result.seconds,
             len(result.failures), len(result.warnings))


def _run_suite(con, spec: SourceSpec, frame: pl.DataFrame, file_name: str, sha256: str,
               suite: dict) -> tuple[list[CheckOutcome], list[str]]:
    context_values = _parameters(con, spec, suite, file_name, sha256, _latest_period(frame))
    parameters = {k: v for k, v in context_values.items() if not k.startswith("_")}
    skipped: list[CheckOutcome] = []
    runnable = []
    for expectation in suite["expectations"]:
        missing = [p for p in _parameter_names(expectation) if parameters.get(p) is None]
        if missing:
            meta = expectation["meta"]
            skipped.append(CheckOutcome(
                check=meta["check"], expectation=expectation["type"], columns=_columns(expectation["kwargs"]),
                severity=meta["severity"], success=None, description=meta["description"],
                observed=context_values.get(f"_{missing[0]}_why", f"no value for {missing[0]}"),
            ))
        else:
            runnable.append(expectation)
    helpers = suite["meta"].get("helpers", [])
    notes: list[str] = []
    # Whole-file helpers first; row-local ones are computed on the (much smaller) frame each batch validates.
    prepared, _ = add_helpers(frame, [h for h in helpers if h["kind"] not in ROW_LOCAL_HELPERS], con, notes)
    local = {h["name"]: h for h in helpers if h["kind"] in ROW_LOCAL_HELPERS}
    sources = {helper_source(local[c]) if c in local else c
               for e in runnable for c in expectation_columns(e)}
    # text as categories: faster grouping, and GX works on their codes (the long readers' are so already)
    prepared = text_as_categories(prepared, sources).with_row_index("dq_position")
    outcomes = []
    for batch in _batches(prepared, suite, runnable, local, con, notes):
        for result in _gx_validate(batch, suite["name"], parameters):
            check = result.expectation_config.meta.get("check")
            expectation = next(e for e in batch.expectations if e["meta"]["check"] == check)
            outcomes.append(_outcome(result, expectation, batch, prepared, context_values))
    order = {e["meta"]["check"]: i for i, e in enumerate(suite["expectations"])}
    outcomes = sorted(outcomes + skipped, key=lambda o: order.get(o.check, len(order)))
    return outcomes, notes


@dataclass
class _Batch:
    """What one GX batch validates: the whole file ("rows"), an empty frame with every column ("shape")
    or the distinct combinations of a few columns (a frame declared in the suite's meta.frames)."""

    name: str
    expectations: list[dict]
    data: object  # the pandas frame GX validates
    distinct: pl.DataFrame | None = None  # the combinations, with dq_rows and dq_position
    columns: list[str] = field(default_factory=list)  # the parsed-file columns the combinations are made of


def _batches(prepared: pl.DataFrame, suite: dict, runnable: list[dict], local: dict[str, dict], con,
             notes: list[str]) -> list[_Batch]:
    declared = {name: f["columns"] for name, f in suite["meta"].get("frames", {}).items() if isinstance(f, dict)}
    available = set(prepared.columns) | set(local)
    shape = [e for e in runnable if is_shape_expectation(e)]
    groups: dict[str, list[dict]] = {}
    for expectation in runnable:
        if expectation in shape:
            continue
        name = expectation["meta"].get("frame")
        if name not in declared or prepared.height < DISTINCT_MIN_ROWS or not set(declared[name]) <= available:
            name = "rows"
        groups.setdefault(name, []).append(expectation)
    batches = [_Batch("shape", shape, to_shape_pandas(prepared.drop("dq_position")))] if shape else []
    for name, expectations in groups.items():
        used = set().union(*(expectation_columns(e) for e in expectations))
        needed = [local[c] for c in local if c in used]
        if name == "rows":
            data, _ = add_helpers(prepared, needed, con, notes)
            batches.append(_Batch(name, expectations, to_validation_pandas(data, {"expectations": expectations})))
            continue
        columns = list(dict.fromkeys(helper_source(local[c]) if c in local else c
                                     for c in declared[name] if c in used))
        distinct, _ = add_helpers(distinct_frame(prepared, columns), needed, con, notes)
        batches.append(_Batch(name, expectations, to_validation_pandas(distinct, {"expectations": expectations}),
                              distinct, columns))
    return batches


class _Deferred(types.ModuleType):
    """A module that GX imports and the gate never uses, standing in sys.modules until something uses it:
    the first attribute asked of it imports the real module (which then replaces it in sys.modules) and
    answers from that."""

    def __getattr__(self, name: str):
        with _DEFERRED_LOCK:
            real = self.__dict__.get("_real")
            if real is None:
                del sys.modules[self.__name__]
                real = self.__dict__["_real"] = importlib.import_module(self.__name__)
        return getattr(real, name)


_DEFERRED_LOCK = threading.Lock()
# GX imports these at its own import for its KL-divergence expectation (charts, scipy.stats.entropy), which no
# suite uses: about a third of GX's import time (~1 s of CPU), in the ingest's wait for the first file's gate.
_DEFERRED = ("scipy.stats", "altair")


def _defer_imports() -> None:
    for name in _DEFERRED:
        if name not in sys.modules:
            spec = importlib.util.find_spec(name)
            if spec is None:
                continue
            stub = _Deferred(name)
            stub.__spec__, stub.__file__, stub.__path__ = spec, spec.origin, spec.submodule_search_locations
            sys.modules[name] = stub


def _gx():
    """great_expectations, imported on first use (it takes ~3 s), quiet and without analytics; what it imports
    and the gate does not use is imported only if something uses it (_DEFERRED)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    _defer_imports()
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    return gx


_DEFINITION = None
_DEFINITION_LOCK = threading.Lock()
_WARM_UP: threading.Thread | None = None


def warm_up() -> None:
    """Import GX and make its context in a background thread, so that the ~3 s import overlaps the
    reading of the first files. The loader calls it once it knows some file will be validated; nothing
    imports GX when no file needs validating."""
    global _WARM_UP
    with _DEFINITION_LOCK:
        if _DEFINITION is not None or _WARM_UP is not None:
            return
        _WARM_UP = threading.Thread(target=_warm_up, name="gx-warm-up", daemon=True)
    _WARM_UP.start()


def _warm_up() -> None:
    try:
        _batch_definition()
    except Exception:  # the first validation makes it again and reports what is wrong
        log.debug("the background GX warm-up failed", exc_info=True)


def _batch_definition():
    """The whole-dataframe batch definition of a pandas asset in an ephemeral context, made once per
    process (registering a data source costs more than validating a small file). A validation that
    starts while the warm-up thread makes it waits for that one."""
    global _DEFINITION
    with _DEFINITION_LOCK:
        if _DEFINITION is None:
            context = _gx().get_context(mode="ephemeral", project_config=_context_config())
            _DEFINITION = (context.data_sources.add_pandas("parsed_files").add_dataframe_asset("parsed_file")
                           .add_batch_definition_whole_dataframe("whole_frame"))
            _memoize_configurations()
            _memoize_row_filters()
            _memoize_domain_objects()
            _memoize_metric_ids()
            _no_fingerprints()
        return _DEFINITION


def _no_fingerprints() -> None:
    """GX's pandas engine hashes every row of every batch into a `pandas_data_fingerprint` batch marker,
    unless the frame holds a gigabyte or more (`HASH_THRESHOLD`); the gate reads no marker, and the hash of
    the caseload file's 1.2M rows is most of the time GX takes to load it. The frames the gate validates
    are made from the file whose sha256 every result records, so GX is told to leave the marker out."""
    from great_expectations.execution_engine import pandas_execution_engine

    pandas_execution_engine.HASH_THRESHOLD = 0


_MEMO = threading.local()  # while this thread validates: .cache {id(expectation): (expectation, configuration)},
# .filters {(id(frame), condition, parser): (frame, filtered frame)}, .domain {id(configuration): (configuration,
# its fields, expectation)} (.reading: inside get_metric_kwargs), .ids {(id keys, content): id}


@contextlib.contextmanager
def _memo_block(name: str):
    """While the block runs, this thread's memo `name` (an attribute of _MEMO) is on, and empty."""
    setattr(_MEMO, name, {})
    try:
        yield
    finally:
        setattr(_MEMO, name, None)


def _memoize_configurations() -> None:
    """Let GX build each expectation's configuration once per validation instead of on every read.

    GX's `Expectation.configuration` is a property that rebuilds the configuration from the
    expectation's fields (a pydantic `.dict()`, value sets of 400 LA codes included) each time it is
    read, about fifty times per expectation per validation: a fifth of the gate's time on the files of
    ../shared/data. The expectation objects GX makes for a validation are not changed while it runs,
    so within `_configurations_built_once` (this thread only) the first configuration of each is
    reused; anywhere else the property behaves as GX's own."""
    from great_expectations.expectations.expectation import Expectation

    built = Expectation.configuration.fget
    if getattr(built, "memoized", False):
        return

    def configuration(self):
        cache = getattr(_MEMO, "cache", None)
        if cache is None:
            return built(self)
        hit = cache.get(id(self))
        if hit is None or hit[0] is not self:
            hit = cache[id(self)] = (self, built(self))
        return hit[1]

    configuration.memoized = True
    configuration.__doc__ = built.__doc__
    Expectation.configuration = property(configuration)


def _configurations_built_once():
    return _memo_block("cache")


def _memoize_row_filters() -> None:
    """Let GX filter a frame by each row condition once per validation instead of once per metric.

    GX's pandas engine applies an expectation's `row_condition` (`dq_measure_kind=="percentage"`) with
    `DataFrame.query` every time a metric asks for the expectation's rows, parsing the text again each
    time: 573 queries over the files of ../shared/data, a quarter of GX's time. Within
    `_row_filters_once` (this thread only) the first filtered frame of each (frame, condition) is
    reused; each caller gets its own shallow copy (pandas copies on write, so no caller can change
    another's rows, as GX already shares the unfiltered frame between metrics). Conditions GX gives
    as objects, and anywhere outside the block, go to GX's own method."""
    from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine

    apply = PandasExecutionEngine._apply_row_condition_filter
    if getattr(apply, "memoized", False):
        return

    def apply_row_condition_filter(self, data, row_condition, domain_kwargs):
        filters = getattr(_MEMO, "filters", None)
        condition = _condition_key(row_condition)
        if filters is None or condition is None:
            return apply(self, data, row_condition, domain_kwargs)
        key = (id(data), condition, domain_kwargs.get("condition_parser"))
        hit = filters.get(key)
        if hit is None or hit[0] is not data:
            hit = filters[key] = (data, apply(self, data, row_condition, domain_kwargs))
        return hit[1].copy(deep=False)

    apply_row_condition_filter.memoized = True
    apply_row_condition_filter.__doc__ = apply.__doc__
    PandasExecutionEngine._apply_row_condition_filter = apply_row_condition_filter


def _memoize_domain_objects() -> None:
    """Let GX's `get_metric_kwargs` turn each expectation configuration into an expectation once per
    validation instead of once per metric.

    `get_metric_kwargs` calls `configuration.to_domain_obj()` (a pydantic model validated from the
    configuration's fields, value sets of 400 LA codes included) only to read the expectation's runtime
    kwargs, three to six times for the same configuration per dependency pass: 2,790 models over the
    files of ../shared/data. Within `_domain_objects_once` (this thread only), while `get_metric_kwargs`
    runs, the expectation first made from a configuration object is reused for as long as that object's
    fields are equal to those it was made from; it is only read there. Every other caller of
    `to_domain_obj`, and every call outside the block, gets a new expectation as from GX."""
    from great_expectations.expectations import expectation as expectation_module
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    made = ExpectationConfiguration.to_domain_obj
    if getattr(made, "memoized", False):
        return
    read_kwargs = expectation_module.get_metric_kwargs

    def to_domain_obj(self):
        cache = getattr(_MEMO, "domain", None)
        if cache is None or not getattr(_MEMO, "reading", False):
            return made(self)
        fields = _configuration_fields(self)
        hit = cache.get(id(self))
        if hit is None or hit[0] is not self or hit[1] != fields:
            hit = cache[id(self)] = (self, fields, made(self))
        return hit[2]

    def get_metric_kwargs(*args, **kwargs):
        reading, _MEMO.reading = getattr(_MEMO, "reading", False), True
        try:
            return read_kwargs(*args, **kwargs)
        finally:
            _MEMO.reading = reading

    to_domain_obj.memoized = True
    to_domain_obj.__doc__ = made.__doc__
    ExpectationConfiguration.to_domain_obj = to_domain_obj
    get_metric_kwargs.__doc__ = read_kwargs.__doc__
    expectation_module.get_metric_kwargs = get_metric_kwargs


def _configuration_fields(configuration) -> tuple:
    """What `to_domain_obj` makes an expectation from (the dicts copied, so a later change shows)."""
    return (configuration.type, configuration.id, dict(configuration.kwargs or {}), dict(configuration.meta or {}),
            configuration.notes, configuration.rendered_content, configuration.severity, configuration.description)


def _domain_objects_once():
    return _memo_block("domain")


def _memoize_metric_ids() -> None:
    """Let GX compute each metric id (an md5 of the JSON of the metric's kwargs) once per validation
    for each content instead of for every metric configuration it makes.

    `IDDict.to_id` converts the kwargs to JSON-able values (walking value sets of 400 LA codes element by
    element), dumps and hashes them, 19,000 times over the files of ../shared/data for a few hundred
    distinct contents. Within `_metric_ids_once` (this thread only), an id is reused for kwargs of equal
    content, compared by type and value down to every element (floats by their repr, so 0.0 and -0.0 or
    1 and True never share an id); kwargs holding anything but str, int, float, bool, None, lists, tuples
    and dicts, and every call outside the block, go to GX's own method."""
    from great_expectations.core.id_dict import IDDict

    to_id = IDDict.to_id
    if getattr(to_id, "memoized", False):
        return

    def memoized_to_id(self, id_keys=None, id_ignore_keys=None):
        ids = getattr(_MEMO, "ids", None)
        if ids is None:
            return to_id(self, id_keys, id_ignore_keys)
        try:
            key = (type(self), _plain_key(list(self.keys() if id_keys is None else id_keys)),
                   _plain_key(list(self._id_ignore_keys if id_ignore_keys is None else id_ignore_keys)),
                   _plain_key(dict(self)))
        except _NotPlain:
            return to_id(self, id_keys, id_ignore_keys)
        hit = ids.get(key)
        if hit is None:
            hit = ids[key] = to_id(self, id_keys, id_ignore_keys)
        return hit

    memoized_to_id.memoized = True
    memoized_to_id.__doc__ = to_id.__doc__
    IDDict.to_id = memoized_to_id


class _NotPlain(Exception):
    pass


def _plain_key(value):
    """`value` as a hashable key equal only for values of the same types and contents."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return kind, value
    if kind is float:
        return kind, repr(value)
    if kind is list or kind is tuple or kind is set or kind is frozenset:
        if all(type(v) is str for v in value):
            return kind, "str", tuple(value)
        return kind, tuple(_plain_key(v) for v in value)
    if kind is dict:
        return kind, tuple((_plain_key(k), _plain_key(v)) for k, v in value.items())
    raise _NotPlain(kind)


def _metric_ids_once():
    return _memo_block("ids")


def _condition_key(row_condition) -> str | None:
    """A row condition as text (GX passes ours as the dict of a pass-through condition), None if it has none."""
    if isinstance(row_condition, str):
        return row_condition
    if isinstance(row_condition, dict):
        try:
            return json.dumps(row_condition, sort_keys=True)
        except (TypeError, ValueError):
            return None
    return None


def _row_filters_once():
    return _memo_block("filters")


def _context_config():
    """An in-memory context: no progress bars, no analytics, no Data Docs site (not even a temp path)."""
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    return DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
                             analytics_enabled=False,
                             progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False))


def _gx_validate(batch: _Batch, suite_name: str, parameters: dict) -> list:
    """Validate one batch in an ephemeral GX context.

    On a large frame the expectations run first with BOOLEAN_ONLY (the cheapest result format: on
    1.2M rows less than half the time of SUMMARY) and only those that failed run again with SUMMARY
    (COMPLETE on a distinct frame, to weight every failing combination), which gives unexpected
    counts and failing rows. Both passes share one validator, so GX loads (and fingerprints) the
    frame once.
    """
    definition = _batch_definition()  # first: it waits for the warm-up thread's import of GX
    gx = _gx()
    from great_expectations.validator.v1_validator import Validator

    validator = Validator(batch_definition=definition, batch_parameters={"dataframe": batch.data},
                          result_format="BOOLEAN_ONLY")

    def run(selected: list[dict], result_format) -> list:
        validator.result_format = result_format
        suite = gx.ExpectationSuite(name=f"{suite_name}:{batch.name}", expectations=selected)
        with _configurations_built_once(), _row_filters_once(), _domain_objects_once(), _metric_ids_once():
            return list(validator.validate_expectation_suite(suite, expectation_parameters=parameters).results)

    detailed_format = ({"result_format": "COMPLETE"} if batch.distinct is not None
                       else {"result_format": "SUMMARY", "partial_unexpected_count": QUARANTINE_ROWS})
    first = run(batch.expectations, "BOOLEAN_ONLY")
    failed = {r.expectation_config.meta.get("check") for r in first if not r.success}
    detailed = {}
    if failed:
        again = run([e for e in batch.expectations if e["meta"]["check"] in failed], detailed_format)
        detailed = {r.expectation_config.meta.get("check"): r for r in again}
    out = []
    for r in first:
        check = r.expectation_config.meta.get("check")
        if check in detailed:
            out.append(detailed[check])
            continue
        # BOOLEAN_ONLY keeps no details; a passed expectation had no unexpected rows.
        r.result = {"observed_value": len(batch.data)} if r.expectation_config.type.startswith("expect_table_row") \
            else {}
        out.append(r)
    return out


# --- values the suite takes at validation time ------------------------------------------------------------

def _parameter_names(expectation: dict) -> list[str]:
    return [v["$PARAMETER"] for v in expectation["kwargs"].values() if isinstance(v, dict) and "$PARAMETER" in v]


def _latest_period(frame: pl.DataFrame) -> str | None:
    """The file's latest period, where its source keeps every release: the first part of the
    release_order the loader puts on each row (pipelines/ingest/releases.py)."""
    if "release_order" not in frame.columns or frame.is_empty():
        return None
    order = frame.get_column("release_order")[0]
    return order.split("|")[0] if order else None


def _parameters(con, spec: SourceSpec, suite: dict, file_name: str, sha256: str,
                latest_period: str | None = None) -> dict:
    names = {p for e in suite["expectations"] for p in _parameter_names(e)}
    values: dict = {"_helper_sources": {h["name"]: h.get("value") or h.get("column") or h["name"]
                                        for h in suite["meta"].get("helpers", [])}}
    if "max_year" in names:
        values["max_year"] = dt.date.today().year + 1
    if "min_rows" in names:
        compare_with = suite["meta"].get("row_count", {}).get("compare_with", "same_file_name_or_source")
        previous = previous_load(con, spec.table, file_name, sha256, compare_with, latest_period)
        if previous:
            values["min_rows"] = max(1, math.ceil(MIN_SHARE_OF_PREVIOUS * previous[1]))
            values["_baseline"] = f"{previous[0]}, {previous[1]:,} rows, loaded {previous[2]:%Y-%m-%d}"
        else:
            values["min_rows"] = 1
            values["_baseline"] = "no previous load: at least 1 row"
    if "la_codes" in names:
        codes, why = la_codes(con)
        values["la_codes"] = codes
        values["_la_codes_why"] = why
    return values


def base_name(file_name: str) -> str:
    return PurePosixPath(file_name.split("!")[-1]).name


def previous_load(con, source: str, file_name: str, sha256: str, compare_with: str = "same_file_name_or_source",
                  latest_period: str | None = None) -> tuple[str, int, dt.datetime] | None:
    """(file, rows, loaded_at) of the latest successful load of `source` other than this content,
    preferring a file with the same name (the same file of an earlier release). With
    `latest_period` (a source whose releases are all kept), a release that covers later periods is
    no baseline: an older release loaded after a newer one is smaller by nature, and is kept
    (superseded), while a truncated copy of the newest release is still refused."""
    if con is None or not table_exists(con, "meta", "file_loads"):
        return None
    rows = con.execute(
        "select source_file, rows, loaded_at, file_sha256 from meta.file_loads where source = ? "
        "and status = 'loaded' and file_sha256 <> ? and rows > 0 order by loaded_at desc", [source, sha256]
    ).fetchall()
    if latest_period and table_exists(con, "raw", source):
        newer = {r[0] for r in con.execute(
            f"select distinct file_sha256 from raw.{source} where split_part(release_order, '|', 1) > ?",
            [latest_period]).fetchall()}
        rows = [r for r in rows if r[3] not in newer]
    rows = [r[:3] for r in rows]
    same = [r for r in rows if base_name(r[0]) == base_name(file_name)]
    if same:
        return same[0]
    if compare_with == "same_file_name" or not rows:
        return None
    return rows[0]


def la_codes(con) -> tuple[list[str] | None, str]:
    """Every LA code the LA reference knows (combined 'A / B' codes also split), and where it came from."""
    codes: set[str] = set()
    if con is not None and table_exists(con, "raw", "la_reference"):
        codes = {r[0] for r in con.execute(
            "select distinct new_la_code from raw.la_reference where new_la_code is not null").fetchall()}
        where = "raw.la_reference"
    if not codes:
        from pipelines.ingest.la_reference import bundled_la_reference

        bundled = bundled_la_reference()
        if bundled is not None and "new_la_code" in bundled.columns:
            codes = set(bundled.get_column("new_la_code").drop_nulls().to_list())
            where = "the package's bundled LA list"
    if not codes:
        return None, "not checked: no LA reference is loaded yet (load la_lookup.csv first)"
    codes |= {part.strip() for code in codes for part in code.split("/")}
    return sorted(codes), where


# --- turning GX results into words ---------------------------------------------------------------------

def _columns(kwargs: dict) -> list[str]:
    if kwargs.get("column_list"):
        return list(kwargs["column_list"])
    return [kwargs[k] for k in ("column", "column_A", "column_B") if isinstance(kwargs.get(k), str)]


def _exception_text(info) -> str:
    if not info:
        return ""
    if "raised_exception" in info:
        return info.get("exception_message") or "" if info.get("raised_exception") else ""
    return "; ".join(v.get("exception_message") or "" for v in info.values()
                     if isinstance(v, dict) and v.get("raised_exception"))


def _outcome(result, expectation: dict, batch: _Batch, prepared: pl.DataFrame, values: dict) -> CheckOutcome:
    config = result.expectation_config
    meta = expectation["meta"]
    kwargs = expectation["kwargs"]
    columns = _columns(kwargs)
    details = result.result or {}
    exception = _exception_text(result.exception_info)
    success = bool(result.success) and not exception
    outcome = CheckOutcome(
        check=meta["check"], expectation=config.type, columns=columns, severity=meta.get("severity", "fail"),
        success=success, description=meta.get("description", config.type), exception=exception,
        reason=meta.get("reason", ""),
    )
    is_map = config.type not in ("expect_table_row_count_to_be_between", "expect_table_columns_to_match_set",
                                 "expect_column_distinct_values_to_contain_set") and batch.name != "shape"
    if success and is_map:
        outcome.unexpected_count = 0
        outcome.observed = "no unexpected rows"
    missing: list = []
    if "observed_value" in details:
        observed = details["observed_value"]
        if config.type == "expect_table_columns_to_match_set":
            missing = sorted(((details.get("details") or {}).get("mismatched") or {}).get("missing") or [])
            outcome.observed = "missing: " + ", ".join(missing) if missing else f"{len(observed or [])} columns"
        elif config.type == "expect_column_distinct_values_to_contain_set":
            missing = sorted(set(kwargs.get("value_set") or []) - set(observed or []))
            outcome.observed = ("missing: " + ", ".join(map(str, missing)) if missing
                                else f"{len(observed or [])} distinct values")
        elif isinstance(observed, int):
            outcome.observed = f"{observed:,}"
        else:
            outcome.observed = _short(observed)
    if success:
        return outcome
    indexes = [int(i) for i in (details.get("unexpected_index_list") or details.get("partial_unexpected_index_list")
                                or []) if _is_int(i)]
    measure = next((c for c in ("measure", "measure_short") if c in prepared.columns), None)
    if batch.distinct is not None and indexes:
        combinations = batch.distinct[indexes]
        outcome.unexpected_count = int(combinations.get_column("dq_rows").sum())
        outcome.positions = rows_matching(prepared, combinations, batch.columns, QUARANTINE_ROWS)
        # the first row of each failing combination, then more failing rows
        first_rows = combinations.get_column("dq_position").sort().to_list()[:ROW_SAMPLE]
        more = [p for p in outcome.positions if p not in set(first_rows)]
        outcome.sample = _sample_rows(prepared, sorted(first_rows + more[: ROW_SAMPLE - len(first_rows)]), columns)
        if measure in combinations.columns:
            outcome.measures = _distinct_text(combinations.get_column(measure))
    else:
        outcome.unexpected_count = details.get("unexpected_count")
        outcome.positions = indexes
        outcome.sample = _sample_rows(prepared, indexes[:ROW_SAMPLE], columns)
    if measure and not outcome.measures and outcome.positions:
        outcome.measures = _distinct_text(prepared.get_column(measure)[outcome.positions])
    if outcome.unexpected_count is not None:
        outcome.observed = f"{outcome.unexpected_count:,} of {prepared.height:,} rows unexpected"
    if not outcome.sample and details.get("partial_unexpected_list"):
        outcome.sample = [{"value": _plain(v)} for v in details["partial_unexpected_list"][:ROW_SAMPLE]]
    if exception:
        outcome.failure = f"the check '{outcome.description}' could not run ({exception.splitlines()[0][:200]})"
        return outcome
    outcome.failure = _failure_sentence(meta.get("failure") or outcome.description, outcome, kwargs, details,
                                        missing, values)
    return outcome


def _failure_sentence(template: str, outcome: CheckOutcome, kwargs: dict, details: dict, missing: list,
                      values: dict) -> str:
    """Fill the expectation's `failure` template (see build_suites) with what was found."""
    n = outcome.unexpected_count or 0
    helpers = values.get("_helper_sources", {})
    shown_columns = list(dict.fromkeys(helpers.get(c, c) for c in outcome.columns))
    measures = outcome.measures
    where_parts = []
    if shown_columns:
        where_parts.append(("column " if len(shown_columns) == 1 else "columns ") + ", ".join(shown_columns))
    if measures:
        shown = ", ".join(measures[:3]) + (f" and {len(measures) - 3} more" if len(measures) > 3 else "")
        where_parts.append(("measure " if len(measures) == 1 else "measures ") + shown)
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    numbers = [r.get(outcome.columns[0]) for r in outcome.sample] if outcome.columns else []
    numbers = [v for v in numbers if isinstance(v, int | float) and not isinstance(v, bool)]
    if numbers and isinstance(high, int | float) and all(v > high for v in numbers):
        outside = f"above {_num(high)}"
    elif numbers and isinstance(low, int | float) and all(v < low for v in numbers):
        outside = f"below {_num(low)}"
    else:
        outside = f"outside {_num(low)} to {_num(high)}"
    observed = details.get("observed_value")
    fields = {
        "rows": f"{n:,} row" + ("" if n == 1 else "s"), "have": "has" if n == 1 else "have",
        "where": f" ({', '.join(where_parts)})" if where_parts else "", "outside": outside,
        "columns": ", ".join(shown_columns), "missing": ", ".join(map(str, missing)),
        "observed": f"{observed:,}" if isinstance(observed, int) else _short(observed),
        "min_rows": f"{values.get('min_rows', 0):,}", "baseline": values.get("_baseline", ""),
    }
    return template.format_map(_Defaults(fields))


def describe_sample(outcome: CheckOutcome, limit: int = 3) -> str:
    """A few failing rows in one line each: `row 14 (E08000007, 2023, pc_x): value=150`."""
    lines = []
    for row in outcome.sample[:limit]:
        context = [str(row[c]) for c in ("new_la_code", "la_number", "time_period", "years", "measure", "measure_short")
                   if row.get(c) not in (None, "") and c not in outcome.columns]
        shown = [c for c in outcome.columns if c in row] or [c for c in ("value",) if c in row]
        values = ", ".join(f"{c}={row.get(c)}" for c in shown)
        head = f"row {row['source_row']}" if row.get("source_row") is not None else "value"
        lines.append(head + (f" ({', '.join(context)})" if context else "") + (f": {values}" if values else ""))
    more = (outcome.unexpected_count or 0) - len(lines)
    if lines and more > 0:
        lines.append(f"... and {more:,} more")
    return "\n".join(lines)


class _Defaults(dict):
    def __missing__(self, key):
        return "?"


def _sample_rows(frame: pl.DataFrame, positions: list[int], columns: list[str]) -> list[dict]:
    if not positions:
        return []
    keep = [c for c in (*ROW_CONTEXT_COLUMNS, *columns) if c in frame.columns]
    keep = list(dict.fromkeys(keep))
    return [{k: _plain(v) for k, v in row.items()} for row in frame[positions].select(keep).to_dicts()]


def _distinct_text(values: pl.Series) -> list[str]:
    return [str(v) for v in dict.fromkeys(values.cast(pl.String).drop_nulls().to_list())]


def _plain(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _is_int(value) -> bool:
    try:
        int(value)
        return True
    except (TypeError, ValueError):
        return False


def _num(value) -> str:
    if not isinstance(value, int | float):
        return "?"
    return str(int(value)) if float(value).is_integer() else str(value)


def _short(value, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- recording -------------------------------------------------------------------------------------------

DDL = (
    "create schema if not exists dq",
    "create schema if not exists quarantine",
    """create table if not exists dq.validation_runs (
        run_id varchar, source varchar, source_file varchar, file_sha256 varchar, success boolean,
        evaluated integer, passed integer, failed integer, warnings integer, not_checked integer, rows bigint,
        suite_from_file boolean, message varchar, started_at timestamp, finished_at timestamp, seconds double)""",
    """create table if not exists dq.expectation_results (
        run_id varchar, source varchar, source_file varchar, file_sha256 varchar, check_name varchar,
        expectation varchar, columns varchar, severity varchar, success boolean, observed_value varchar,
        unexpected_count bigint, unexpected_sample varchar, description varchar, failure varchar,
        reason varchar, exception varchar, checked_at timestamp)""",
    """create table if not exists quarantine.files (
        run_id varchar, source varchar, source_file varchar, file_sha256 varchar, rows bigint, reasons varchar,
        quarantined_at timestamp)""",
    """create table if not exists quarantine.rows (
        run_id varchar, source varchar, source_file varchar, file_sha256 varchar, source_row bigint,
        check_name varchar, expectation varchar, description varchar, row_json varchar, quarantined_at timestamp)""",
)


# (schema, table) of each table DDL creates, read from its statements
DQ_TABLES = tuple(tuple(statement.split()[5].split(".")) for statement in DDL if statement.startswith("create table"))


def ensure_dq_tables(con: duckdb.DuckDBPyConnection) -> None:
    if all(table_exists(con, schema, table) for schema, table in DQ_TABLES):
        return
    for statement in DDL:
        con.execute(statement).fetchall()
    tables_changed(con)


# dq.expectation_results' columns (DDL) as the frame record_result inserts them from
_EXPECTATION_RESULT_SCHEMA = {
    **dict.fromkeys(("run_id", "source", "source_file", "file_sha256", "check_name", "expectation", "columns",
                     "severity"), pl.String),
    "success": pl.Boolean, "observed_value": pl.String, "unexpected_count": pl.Int64,
    **dict.fromkeys(("unexpected_sample", "description", "failure", "reason", "exception"), pl.String),
    "checked_at": pl.Datetime("us"),
}


def record_result(con: duckdb.DuckDBPyConnection, result: GateResult, frame: pl.DataFrame) -> None:
    """Write the run, its expectation results and (when it failed) the quarantine, in one transaction (the
    caller's when one is open): a commit a file, not one per table."""
    ensure_dq_tables(con)
    with _one_transaction(con):
        _record_rows(con, result, frame)


@contextlib.contextmanager
def _one_transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The block in a transaction of its own, committed at its end; or in the caller's open one."""
    try:
        con.execute("begin transaction")
    except duckdb.TransactionException:  # the caller's transaction is open: it commits
        yield
        return
    try:
        yield
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def _record_rows(con: duckdb.DuckDBPyConnection, result: GateResult, frame: pl.DataFrame) -> None:
    at = result.finished_at
    counts = [sum(1 for r in result.results if r.success is flag) for flag in (True, False, None)]
    con.execute("insert into dq.validation_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        result.run_id, result.source, result.file, result.sha256, result.passed, len(result.results), counts[0],
        len(result.failures), len(result.warnings), counts[2], result.rows, result.suite_from_file, result.message,
        result.started_at, result.finished_at, result.seconds,
    ]).fetchall()
    rows = [
        [result.run_id, result.source, result.file, result.sha256, r.check, r.expectation, ", ".join(r.columns),
         r.severity, r.success, r.observed, r.unexpected_count,
         json.dumps(r.sample, default=str) if r.sample else None, r.description, r.failure or None,
         r.reason or None, r.exception or None, at]
        for r in result.results
    ]
    if rows:  # one insert from a frame: a VALUES list of ~500 parameters took longer to bind than to write
        checks = pl.DataFrame(rows, schema=_EXPECTATION_RESULT_SCHEMA, orient="row", strict=False)
        con.register("incoming_checks", checks.to_arrow())
        try:
            con.execute("insert into dq.expectation_results by name select * from incoming_checks").fetchall()
        finally:
            con.unregister("incoming_checks")
    if result.passed:
        return
    con.execute("insert into quarantine.files values (?, ?, ?, ?, ?, ?, ?)", [
        result.run_id, result.source, result.file, result.sha256, result.rows,
        result.message.split(": ", 1)[-1], at,
    ]).fetchall()
    parts = []
    for outcome in result.failures:
        positions = outcome.positions[:QUARANTINE_ROWS]
        if not positions:
            continue
        rows = frame[positions]
        parts.append(pl.DataFrame({
            "source_row": rows.get_column("source_row") if "source_row" in rows.columns else [None] * rows.height,
            "row_json": [json.dumps(r, default=str) for r in rows.to_dicts()],
        }).with_columns(pl.lit(outcome.check).alias("check_name"), pl.lit(outcome.expectation).alias("expectation"),
                        pl.lit(outcome.description).alias("description")))
    if parts:
        bad = pl.concat(parts, how="vertical_relaxed").with_columns(
            pl.lit(result.run_id).alias("run_id"), pl.lit(result.source).alias("source"),
            pl.lit(result.file).alias("source_file"), pl.lit(result.sha256).alias("file_sha256"),
            pl.lit(at).alias("quarantined_at"))
        con.register("quarantined_rows", bad.to_arrow())
        try:
            con.execute("insert into quarantine.rows by name select * from quarantined_rows").fetchall()
        finally:
            con.unregister("quarantined_rows")


