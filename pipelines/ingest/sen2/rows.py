"""From one SEN2 person (as plain dicts of item -> text) to pseudonymised rows of the raw tables.

Both readers (the XML and the flat export) build the same `PersonRecord`s and hand them here, so the
two formats of one return give identical rows: identifiers become keyed hashes (the project's
pseudonymise helpers), the date of birth becomes an age, names and postcode are dropped (only whether
a postcode was given is kept), and free text (SENSettingOther) is reduced to whether it was given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from pipelines.errors import SourceFormatError
from pipelines.ingest.local import NOT_QUOTED
from pipelines.ingest.pseudonymise import age_band, age_in_years, keyed_hash
from pipelines.ingest.sen2 import spec

# Raw table -> column -> dtype. One statement of each table's shape (the loader and dbt sources follow it).
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "sen2_persons": {
        "person_key": pl.String, "upn_key": pl.String, "uln_key": pl.String, "age_at_reference_date": pl.Int32,
        "age_band": pl.String, "sex": pl.String, "ethnicity": pl.String, "upn_unknown": pl.String,
        "postcode_given": pl.Boolean, "upn_check_ok": pl.Boolean, "uln_check_ok": pl.Boolean, "source_row": pl.Int64,
    },
    "sen2_requests": {
        "request_key": pl.String, "person_key": pl.String, "request_seq": pl.Int32,
        "received_date": pl.Date, "request_source": pl.String, "rya": pl.Boolean,
        "request_outcome_date": pl.Date, "request_outcome": pl.String, "request_mediation": pl.Boolean,
        "request_tribunal": pl.Boolean, "exported": pl.String, "age_at_request": pl.Int32,
        "has_assessment": pl.Boolean, "assessment_outcome": pl.String, "assessment_outcome_date": pl.Date,
        "assessment_mediation": pl.Boolean, "assessment_tribunal": pl.Boolean, "other_mediation": pl.Boolean,
        "other_tribunal": pl.Boolean, "week20": pl.Boolean,
        "has_named_plan": pl.Boolean, "plan_start_date": pl.Date, "plan_res": pl.String, "plan_wbp": pl.String,
        "pb": pl.Boolean, "oa": pl.Boolean, "dp": pl.String, "plan_cease_date": pl.Date,
        "plan_cease_reason": pl.Int32,
        "has_active_plan": pl.Boolean, "transfer_la": pl.String, "active_res": pl.String, "active_wbp": pl.String,
        "review_meeting_date": pl.Date, "review_outcome": pl.String, "review_draft_date": pl.Date,
        "phase_transfer_due_date": pl.Date, "phase_transfer_final_date": pl.Date, "last_review_date": pl.Date,
        "source_row": pl.Int64,
    },
    "sen2_placements": {
        "request_key": pl.String, "person_key": pl.String, "record": pl.String, "urn": pl.String,
        "ukprn": pl.String, "sen_setting": pl.String, "sen_setting_other_given": pl.Boolean,
        "placement_rank": pl.Int32, "sen_unit": pl.Boolean, "resourced_provision": pl.Boolean,
        "entry_date": pl.Date, "leaving_date": pl.Date, "attendance_pattern": pl.String, "res": pl.String,
        "wbp": pl.String, "source_row": pl.Int64,
    },
    "sen2_needs": {
        "request_key": pl.String, "person_key": pl.String, "sen_type": pl.String, "sen_type_rank": pl.Int32,
        "source_row": pl.Int64,
    },
}
DATE_COLUMNS = {name for table in SCHEMAS.values() for name, dtype in table.items() if dtype == pl.Date}
BOOL_COLUMNS = {name for table in SCHEMAS.values() for name, dtype in table.items() if dtype == pl.Boolean}
INT_COLUMNS = {name for table in SCHEMAS.values() for name, dtype in table.items() if dtype == pl.Int32}


@dataclass
class RequestRecord:
    items: dict[str, str] = field(default_factory=dict)  # request, assessment, named plan, active plan items
    plan_details: list[dict[str, str]] = field(default_factory=list)
    placements: list[dict[str, str]] = field(default_factory=list)
    needs: list[dict[str, str]] = field(default_factory=list)


@dataclass
class PersonRecord:
    position: int  # 1-based order of the person in the file (the flat export: its row in person.csv)
    items: dict[str, str] = field(default_factory=dict)
    requests: list[RequestRecord] = field(default_factory=list)
    label: str = ""  # how messages name the person (default "Person <position>")


class ValueParser:
    """Parses item text to values; a bad value raises one sentence naming file, person and element."""

    def __init__(self, file: str):
        self.file = file

    def error(self, where: str, problem: str) -> SourceFormatError:
        return SourceFormatError(self.file, f"{where}: {problem}")

    def date(self, text: str | None, where: str) -> dt.date | None:
        if text is None:
            return None
        value = text.strip()[:10]
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
        try:  # the Blade export writes 2022-Sep-28 00:00:00
            return dt.datetime.strptime(text.strip()[:11], "%Y-%b-%d").date()
        except ValueError:
            raise self.error(where, f"{NOT_QUOTED} is not a date (SEN2 dates are yyyy-mm-dd, spec 3.2)") from None

    def flag(self, text: str | None, where: str) -> bool | None:
        if text is None:
            return None
        word = text.strip().lower()
        if word in spec.TRUE_WORDS:
            return True
        if word in spec.FALSE_WORDS:
            return False
        raise self.error(where, f"{NOT_QUOTED} is not a yes/no value (SEN2 booleans are 1 or 0, spec 3.2)")

    def integer(self, text: str | None, where: str) -> int | None:
        if text is None:
            return None
        try:
            return int(float(text.strip()))
        except ValueError:
            raise self.error(where, f"{NOT_QUOTED} is not a whole number") from None


def upn_check_letter_ok(upn: str) -> bool:
    """UPN format and check letter [2023 spec 4, validation of item 1.7; DfE UPN guidance]: 13 characters,
    a check letter then 11 digits then a digit or a letter (temporary UPN); the check letter is the
    weighted sum (weights 2-13 on characters 2-13) modulo 23 in the alphabet without I, O and S."""
    letters = "ABCDEFGHJKLMNPQRTUVWXYZ"
    text = upn.strip().upper()
    if len(text) != 13 or text[0] not in letters or not text[1:12].isdigit():
        return False
    last = text[12]
    if last.isdigit():
        last_value = int(last)
    elif last in letters:
        last_value = letters.index(last)
    else:
        return False
    total = sum(int(c) * w for c, w in zip(text[1:12], range(2, 13), strict=True)) + last_value * 13
    return letters[total % 23] == text[0]


def uln_check_digit_ok(uln: str) -> bool:
    """ULN format and check digit [2023 spec 4, validation of item 1.8; DfE ILR rule ULN_04]: 10 digits,
    the tenth = 10 - (sum of digits 1-9 weighted 10..2 mod 11); remainder 0 is never valid."""
    text = uln.strip()
    if len(text) != 10 or not text.isdigit() or text == "9999999999":
        return text == "9999999999"
    remainder = sum(int(c) * w for c, w in zip(text[:9], range(10, 1, -1), strict=True)) % 11
    return remainder != 0 and 10 - remainder == int(text[9])


def person_identity(items: dict[str, str], birth: dt.date | None) -> str:
    """The text a person's key is hashed from: the UPN, else the ULN, else name and date of birth
    (dates as yyyy-mm-dd whatever the export's format, so XML and flat export give the same key)."""
    if items.get("upn"):
        return "UPN:" + items["upn"].strip().upper()
    if items.get("uln"):
        return "ULN:" + items["uln"].strip()
    parts = (items.get("surname"), items.get("forename"), birth.isoformat() if birth else None)
    return "NAME:" + "|".join((part or "").strip().upper() for part in parts)


class BatchBuilder:
    """Collects persons and turns them into pseudonymised frames, one batch at a time."""

    def __init__(self, file: str, key: bytes, reference_date: dt.date | None):
        self.parser = ValueParser(file)
        self.key = key
        self.reference_date = reference_date
        self.clear()

    def clear(self) -> None:
        self.rows: dict[str, list[dict]] = {table: [] for table in SCHEMAS}
        self.identities: list[str] = []  # per person row; hashed, then dropped
        self.request_identities: list[str] = []
        self.child_request_index: dict[str, list[int]] = {"sen2_placements": [], "sen2_needs": []}
        self.persons = 0

    def add(self, person: PersonRecord) -> None:
        p, where = self.parser, person.label or f"Person {person.position}"
        items = person.items
        birth = p.date(items.get("birth_date"), f"{where} <PersonBirthDate>")
        identity = person_identity(items, birth)
        upn, uln = items.get("upn"), items.get("uln")
        sex = items.get("sex")
        self.identities.append(identity)
        self.rows["sen2_persons"].append({
            "upn_raw": upn, "uln_raw": uln, "birth_date": birth,
            "sex": spec.SEX_CODES.get(sex.strip().upper(), sex.strip().upper()) if sex else None,
            "ethnicity": items.get("ethnicity"), "upn_unknown": items.get("upn_unknown"),
            "postcode_given": bool(items.get("postcode")),
            "upn_check_ok": upn_check_letter_ok(upn) if upn else None,
            "uln_check_ok": uln_check_digit_ok(uln) if uln else None,
            "source_row": person.position,
        })
        for seq, request in enumerate(person.requests, start=1):
            rw = f"{where}, Requests {seq}"
            r = request.items
            row: dict[str, object] = {"request_seq": seq, "birth_date": birth, "source_row": person.position,
                                      "person_index": len(self.identities) - 1}
            for name, text in r.items():
                if name.startswith("__"):
                    continue
                element = f"{rw} <{spec.ELEMENT_NAMES.get(name, name)}>"
                if name in DATE_COLUMNS:
                    row[name] = p.date(text, element)
                elif name in BOOL_COLUMNS:
                    row[name] = p.flag(text, element)
                elif name in INT_COLUMNS:
                    row[name] = p.integer(text, element)
                else:
                    row[name] = text.strip().upper() if name in (
                        "request_outcome", "assessment_outcome", "review_outcome") else text.strip()
            row["has_assessment"] = "__assessment" in r
            row["has_named_plan"] = "__named_plan" in r
            row["has_active_plan"] = "__active_plan" in r
            self.request_identities.append(f"{identity}|{row.get('received_date') or ''}|{seq}")
            self.rows["sen2_requests"].append(row)
            request_index = len(self.request_identities) - 1
            for record, details in (("plan_detail", request.plan_details), ("placement_detail", request.placements)):
                for i, d in enumerate(details, start=1):
                    dw = f"{rw}, {'PlanDetail' if record == 'plan_detail' else 'PlacementDetail'} {i}"
                    self.rows["sen2_placements"].append({
                        "record": record, "urn": d.get("urn"), "ukprn": d.get("ukprn"),
                        "sen_setting": d["sen_setting"].strip().upper() if d.get("sen_setting") else None,
                        "sen_setting_other_given": bool(d.get("sen_setting_other")),
                        "placement_rank": p.integer(d.get("placement_rank"), f"{dw} <PlacementRank>"),
                        "sen_unit": p.flag(d.get("sen_unit"), f"{dw} <SENunitIndicator>"),
                        "resourced_provision": p.flag(d.get("resourced_provision"),
                                                      f"{dw} <ResourcedProvisionIndicator>"),
                        "entry_date": p.date(d.get("entry_date"), f"{dw} <EntryDate>"),
                        "leaving_date": p.date(d.get("leaving_date"), f"{dw} <LeavingDate>"),
                        "attendance_pattern": d.get("attendance_pattern"), "res": d.get("res"),
                        "wbp": d.get("wbp"), "source_row": person.position,
                    })
                    self.child_request_index["sen2_placements"].append(request_index)
            for i, d in enumerate(request.needs, start=1):
                self.rows["sen2_needs"].append({
                    "sen_type": d["sen_type"].strip().upper() if d.get("sen_type") else None,
                    "sen_type_rank": p.integer(d.get("sen_type_rank"), f"{rw}, SENneed {i} <SENtypeRank>"),
                    "source_row": person.position,
                })
                self.child_request_index["sen2_needs"].append(request_index)
        self.persons += 1

    def frames(self) -> dict[str, pl.DataFrame]:
        """The batch as pseudonymised frames of the raw tables (identifiers hashed, DOB gone)."""
        person_keys = keyed_hash(pl.Series("id", self.identities, dtype=pl.String), "person", self.key)
        request_keys = keyed_hash(pl.Series("id", self.request_identities, dtype=pl.String), "request", self.key)
        out: dict[str, pl.DataFrame] = {}
        persons = pl.DataFrame(self.rows["sen2_persons"], schema_overrides={
            "upn_raw": pl.String, "uln_raw": pl.String, "birth_date": pl.Date, "sex": pl.String,
            "ethnicity": pl.String, "upn_unknown": pl.String}, infer_schema_length=None)
        if persons.height:
            reference = pl.lit(self.reference_date, pl.Date)
            age = age_in_years(pl.col("birth_date"), reference)
            persons = persons.with_columns(
                person_keys.alias("person_key"),
                # ULNs hash in the UPN namespace: both are DfE learner numbers, and their formats cannot collide.
                keyed_hash(persons["upn_raw"], "upn", self.key).alias("upn_key"),
                keyed_hash(persons["uln_raw"], "upn", self.key).alias("uln_key"),
                age.alias("age_at_reference_date"),
                age_band(age).alias("age_band"),
            )
        out["sen2_persons"] = _conform(persons, "sen2_persons")
        requests = pl.DataFrame(self.rows["sen2_requests"], infer_schema_length=None,
                                schema_overrides={c: d for c, d in SCHEMAS["sen2_requests"].items()
                                                  if c not in ("request_key", "person_key", "age_at_request")}
                                | {"birth_date": pl.Date, "person_index": pl.Int64})
        if requests.height:
            requests = requests.with_columns(
                request_keys.alias("request_key"),
                person_keys.gather(requests["person_index"]).alias("person_key"),
                age_in_years(pl.col("birth_date"), pl.col("received_date")).alias("age_at_request"),
            )
        out["sen2_requests"] = _conform(requests, "sen2_requests")
        for table in ("sen2_placements", "sen2_needs"):
            frame = pl.DataFrame(self.rows[table], infer_schema_length=None,
                                 schema_overrides={c: d for c, d in SCHEMAS[table].items()
                                                   if c not in ("request_key", "person_key")})
            if frame.height:
                index = pl.Series(self.child_request_index[table], dtype=pl.Int64)
                frame = frame.with_columns(
                    request_keys.gather(index).alias("request_key"),
                    out["sen2_requests"]["person_key"].gather(index).alias("person_key"),
                )
            out[table] = _conform(frame, table)
        return out


def _conform(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Exactly the table's columns, in order and type (absent optional items are null)."""
    schema = SCHEMAS[table]
    return pl.DataFrame(
        [frame[c].cast(d) if c in frame.columns else pl.Series(c, [None] * frame.height, dtype=d)
         for c, d in schema.items()],
        schema=schema,
    )
