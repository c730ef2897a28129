"""A synthetic SEN2 person-level XML return for the demo LA whose aggregates equal its published figures.

The demo's EHC plans release (timeliness_20_week.csv, requests.csv, caseload.csv) holds the demo LA's
published S5/S5_inc/S9 (plans issued in each calendar year, within 20 weeks, with and without
exceptions), S10 (requests received in each calendar year), S11/S12 (mediation and tribunal) and S6
(plans at each January census). `synthesise_return` builds persons whose requests, assessments,
named plans and ceased plans aggregate, with DfE's definitions, to exactly those numbers;
`write_sen2_xml` streams them out as the XML schema of spec 3.2 (version 1.3 items by default).

Every value is synthetic: names, dates of birth, UPNs (with valid check letters) and ULNs are made up.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from pipelines.ingest.sen2.spec import SEN_TYPES

FORENAMES = ("Oliver", "Amelia", "Noah", "Isla", "Harry", "Ava", "Jack", "Mia", "George", "Sophia", "Leo",
             "Freya", "Arthur", "Lily", "Muhammad", "Grace", "Oscar", "Evie", "Theo", "Ella")
SURNAMES = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
            "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Khan", "Lewis")
ETHNICITIES = ("WBRI", "WOTH", "MWBC", "AIND", "APKN", "BAFR", "CHNE", "OOTH", "REFU")
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


@dataclass
class PublishedFigures:
    """One LA's published numbers: flows by calendar year, caseload by January year."""

    la_number: str
    requests: dict[int, int] = field(default_factory=dict)
    plans: dict[int, int] = field(default_factory=dict)  # plans_issued_den
    plans_ex: dict[int, int] = field(default_factory=dict)  # plans_issued_den_ex
    within: dict[int, int] = field(default_factory=dict)  # plans_issued_within_20_weeks
    within_ex: dict[int, int] = field(default_factory=dict)  # plans_issued_20_weeks_ex
    mediation: dict[int, int] = field(default_factory=dict)
    tribunal: dict[int, int] = field(default_factory=dict)
    caseload: dict[int, int] = field(default_factory=dict)  # January of the year

    def scaled(self, factor: int) -> PublishedFigures:
        def times(values: dict[int, int]) -> dict[int, int]:
            return {year: value * factor for year, value in values.items()}
        return PublishedFigures(self.la_number, times(self.requests), times(self.plans), times(self.plans_ex),
                                times(self.within), times(self.within_ex), times(self.mediation),
                                times(self.tribunal), times(self.caseload))


def census_date(year: int) -> dt.date:
    """The SEN2 census date: the third Thursday of January (spec 1.2, coverage and timings)."""
    first = dt.date(year, 1, 1)
    first_thursday = first + dt.timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + dt.timedelta(days=14)


def _number(text: str | None) -> int | None:
    try:
        return int(float(text)) if text not in (None, "", "x", "z", "c", ":") else None
    except ValueError:
        return None


def published_figures(release_zip: Path, la_number: str) -> PublishedFigures:
    """The LA's rows (all-rows breakdown) of the demo release's timeliness, requests and caseload files."""
    figures = PublishedFigures(la_number)
    targets = {
        "timeliness_20_week": {"plans_issued_den": figures.plans, "plans_issued_den_ex": figures.plans_ex,
                               "plans_issued_within_20_weeks": figures.within,
                               "plans_issued_20_weeks_ex": figures.within_ex},
        "requests": {"requests_received_in_year": figures.requests, "mediation_related_request": figures.mediation,
                     "tribunal_related_request": figures.tribunal},
        "caseload": {"ehcplans": figures.caseload},
    }
    with zipfile.ZipFile(release_zip) as archive:
        for member in archive.namelist():
            stem = Path(member).stem.lower()
            if stem not in targets:
                continue
            text = archive.read(member).decode("utf-8-sig")
            for row in csv.DictReader(io.StringIO(text)):
                row = {k.strip().lower(): v for k, v in row.items()}
                if row.get("old_la_code") != la_number or row.get("geographic_level") != "Local authority":
                    continue
                if row.get("breakdown_topic", "Total") not in ("Total", "All", row.get("breakdown")):
                    continue
                period = row["time_period"].strip()
                # calendar years are "2024"; January snapshots are academic years "202425" (January 2025)
                year = int(period[:4]) + (1 if len(period) == 6 else 0)
                for column, values in targets[stem].items():
                    value = _number(row.get(column.lower()))
                    if value is not None:
                        values[year] = value
    return figures


# --- the synthetic persons ---------------------------------------------------------------------------


@dataclass
class _Plan:
    person: dict
    request: dict
    start: dt.date
    transfer: bool = False
    cease: dt.date | None = None


def _upn(rng: np.random.Generator, la_number: str) -> str:
    digits = f"{int(la_number):03d}" + "".join(str(d) for d in rng.integers(0, 10, 9))
    total = sum(int(c) * w for c, w in zip(digits, range(2, 14), strict=True))
    return UPN_LETTERS[total % 23] + digits


def _uln(rng: np.random.Generator) -> str:
    while True:
        digits = "".join(str(d) for d in rng.integers(0, 10, 9))
        remainder = sum(int(c) * w for c, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        if remainder != 0:  # remainder 0 would need check digit 10: no valid ULN
            return digits + str(10 - remainder)


def _day(rng: np.random.Generator, first: dt.date, last: dt.date) -> dt.date:
    span = (last - first).days
    return first + dt.timedelta(days=int(rng.integers(0, span + 1))) if span > 0 else first


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


class _People:
    def __init__(self, rng: np.random.Generator, la_number: str):
        self.rng, self.la_number, self.persons = rng, la_number, []

    def new(self, first_request: dt.date) -> dict:
        rng = self.rng
        age = int(rng.integers(2, 18))
        birth = first_request - dt.timedelta(days=int(age * 365.25 + rng.integers(0, 365)))
        person = {
            "Surname": str(rng.choice(SURNAMES)), "Forename": str(rng.choice(FORENAMES)),
            "PersonBirthDate": birth.isoformat(), "Sex": str(rng.choice(["M", "M", "F"])),
            "Ethnicity": str(rng.choice(ETHNICITIES)), "PostCode": f"SK{int(rng.integers(1, 17))} "
                                                                  f"{int(rng.integers(1, 10))}AB",
            "Requests": [],
        }
        if age >= 16 and rng.random() < 0.5:
            person["UniqueLearnerNumber"] = _uln(rng)
        else:
            person["UPN"] = _upn(rng, self.la_number)
        self.persons.append(person)
        return person


def synthesise_return(figures: PublishedFigures, seed: int = 20241, until: dt.date | None = None) -> list[dict]:
    """Persons (nested dicts in the XML's shape) whose aggregates equal `figures` (DfE definitions, see
    dbt int_sen2__* models): per calendar year Y, requests received in Y, plans started in Y (all and
    excluding Week20 exceptions) and those within 140 days of the request; mediation and tribunal
    requests in Y; plans active at each January census date. With `until` (the extract date) after the
    last published year, the casework goes on to that date at the last published year's pace (figures
    not yet published: the months a council reads from its own return first)."""
    rng = np.random.default_rng(seed)
    people = _People(rng, figures.la_number)
    plans: list[_Plan] = []
    flow_years = sorted(figures.plans)
    # Plans issued in Y whose request came in Y-1 (q[Y]): as few as the published requests allow,
    # solved from the last year back (requests in Y = plans of Y received in Y + q[Y+1] + the rest).
    carried: dict[int, int] = {}
    later = 0
    for year in reversed(flow_years):
        requests_in_year = figures.requests.get(year, figures.plans[year] + later)
        carried[year] = max(0, figures.plans[year] + later - requests_in_year)
        if carried[year] > figures.plans[year]:
            raise ValueError(f"LA {figures.la_number} {year}: too few requests for the plans issued")
        later = carried[year]
    for year in flow_years:
        census = census_date(year)
        den, den_ex = figures.plans[year], figures.plans_ex.get(year, figures.plans[year])
        within, within_ex = figures.within.get(year, 0), figures.within_ex.get(year, 0)
        exceptions, exception_within = den - den_ex, within - within_ex
        if not (0 <= within_ex <= den_ex and 0 <= exception_within <= exceptions):
            raise ValueError(f"LA {figures.la_number} {year}: published timeliness figures are inconsistent")
        kinds = ([(False, True)] * within_ex + [(False, False)] * (den_ex - within_ex)
                 + [(True, True)] * exception_within + [(True, False)] * (exceptions - exception_within))
        previous_year = set(rng.choice(len(kinds), size=carried[year], replace=False).tolist())
        for index, (week20, is_within) in enumerate(kinds):
            days = int(rng.integers(60, 141)) if is_within else int(rng.integers(141, 301))
            if index in previous_year:  # received last year: start early in the year
                start = _day(rng, census + dt.timedelta(days=1), dt.date(year, 1, 1) + dt.timedelta(days=days - 1))
            else:
                start = _day(rng, max(dt.date(year, 1, 1) + dt.timedelta(days=days), census + dt.timedelta(days=1)),
                             dt.date(year, 12, 31))
            received = start - dt.timedelta(days=days)
            outcome_date = start - dt.timedelta(days=int(rng.integers(0, 15)))
            person = people.new(received)
            request = {
                "ReceivedDate": received.isoformat(), "RequestSource": str(int(rng.integers(1, 6))), "RYA": "0",
                "RequestOutcomeDate": (received + dt.timedelta(days=min(42, days // 2))).isoformat(),
                "RequestOutcome": "A", "RequestMediation": "0", "RequestTribunal": "0",
                "Assessment": {"AssessmentOutcome": "Y", "AssessmentOutcomeDate": outcome_date.isoformat(),
                               "AssessmentMediation": "0", "AssessmentTribunal": "0", "OtherMediation": "0",
                               "OtherTribunal": "0", "Week20": "1" if week20 else "0",
                               "NamedPlan": {"StartDate": start.isoformat()}},
            }
            person["Requests"].append(request)
            plans.append(_Plan(person, request, start))
        following = carried.get(year + 1, 0) if year + 1 in figures.plans else 0
        if year in figures.requests:
            _extra_requests(people, rng, year, figures.requests[year] - (den - carried[year]) - following)
    for year in flow_years:
        _disputes(people.persons, rng, year, figures.mediation.get(year, 0), figures.tribunal.get(year, 0))
    _caseload(figures, people, plans, rng)
    last_census = census_date(max(figures.caseload)) if figures.caseload else None
    for plan in plans:
        _finish_plan(plan, rng, last_census)
    if until is not None and flow_years and until.year > flow_years[-1]:
        _unpublished_months(figures, people, rng, flow_years[-1], until)
    rng.shuffle(people.persons)
    return people.persons


def _unpublished_months(figures: PublishedFigures, people: _People, rng: np.random.Generator, last: int,
                        until: dt.date) -> None:
    """Casework from 1 January after the last published year `last` to `until`, at that year's pace:
    requests spread over the months, as many leading to plans (within 20 weeks, or with a Week20
    exception, as often as in `last`), a plan started only once its date has come (later ones are still
    being assessed), and mediation and tribunal requests in the same proportions. Plans start after
    the January census, so every published caseload stays as it is."""
    first = dt.date(until.year, 1, 1)
    share = ((until - first).days + 1) / 365
    requests = figures.requests.get(last, figures.plans[last])
    plan_rate = figures.plans[last] / requests if requests else 0.0
    within_rate = figures.within.get(last, 0) / figures.plans[last] if figures.plans[last] else 0.0
    exception_rate = 1 - figures.plans_ex.get(last, figures.plans[last]) / figures.plans[last] if figures.plans[
        last] else 0.0
    received_now = []
    for _ in range(round(requests * share)):
        received = _day(rng, first, until)
        person = people.new(received)
        request: dict = {"ReceivedDate": received.isoformat(), "RYA": "0", "RequestMediation": "0",
                         "RequestTribunal": "0"}
        if rng.random() < plan_rate:
            days = int(rng.integers(60, 141)) if rng.random() < within_rate else int(rng.integers(141, 301))
            start = received + dt.timedelta(days=days)
            request |= {"RequestSource": str(int(rng.integers(1, 6))), "RequestOutcome": "A",
                        "RequestOutcomeDate": (received + dt.timedelta(days=min(42, days // 2))).isoformat()}
            if start <= until:
                week20 = rng.random() < exception_rate
                outcome_date = start - dt.timedelta(days=int(rng.integers(0, 15)))
                request["Assessment"] = {
                    "AssessmentOutcome": "Y", "AssessmentOutcomeDate": outcome_date.isoformat(),
                    "AssessmentMediation": "0", "AssessmentTribunal": "0", "OtherMediation": "0",
                    "OtherTribunal": "0", "Week20": "1" if week20 else "0",
                    "NamedPlan": {"StartDate": start.isoformat(),
                                  "PlanDetail": [{"URN": str(int(rng.integers(100000, 150000))),
                                                  "PlacementRank": "1"}]}}
        person["Requests"].append(request)
        received_now.append(person)
    _disputes(received_now, rng, until.year, round(figures.mediation.get(last, 0) * share),
              round(figures.tribunal.get(last, 0) * share))


def _extra_requests(people: _People, rng: np.random.Generator, year: int, count: int) -> None:
    """Requests received in `year` that did not lead to a plan that year (not assessed, not issued,
    withdrawn, or still open at the end of the year)."""
    for _ in range(count):
        received = _day(rng, dt.date(year, 1, 1), dt.date(year, 12, 31))
        person = people.new(received)
        outcome = str(rng.choice(["H", "H", "N", "W", "open"]))
        request: dict = {"ReceivedDate": received.isoformat(), "RYA": "0", "RequestMediation": "0",
                         "RequestTribunal": "0"}
        decided = received + dt.timedelta(days=int(rng.integers(20, 60)))
        if outcome == "H":
            request |= {"RequestOutcome": "H", "RequestOutcomeDate": decided.isoformat()}
        elif outcome == "W":
            request |= {"RequestOutcome": "W", "RequestOutcomeDate": decided.isoformat()}
        elif outcome == "N":
            request |= {"RequestOutcome": "A", "RequestOutcomeDate": decided.isoformat(),
                        "Assessment": {"AssessmentOutcome": "N", "Week20": "0", "AssessmentOutcomeDate":
                                       (decided + dt.timedelta(days=int(rng.integers(30, 90)))).isoformat()}}
        person["Requests"].append(request)


def _disputes(persons: list[dict], rng: np.random.Generator, year: int, mediation: int, tribunal: int) -> None:
    """Mark `mediation` and `tribunal` requests received in `year` (RequestMediation / RequestTribunal)."""
    candidates = [r for p in persons for r in p["Requests"] if r["ReceivedDate"].startswith(str(year))]
    order = rng.permutation(len(candidates))
    for i in order[:mediation]:
        candidates[i]["RequestMediation"] = "1"
    for i in order[::-1][:tribunal]:
        candidates[i]["RequestTribunal"] = "1"


def _caseload(figures: PublishedFigures, people: _People, plans: list[_Plan], rng: np.random.Generator) -> None:
    """Cease plans, or add plans transferred in from other LAs (or started before the published years),
    so that the plans active at each January census date equal the published caseload."""
    previous: dt.date | None = None
    flow_first = min(figures.plans) if figures.plans else None
    for year in sorted(figures.caseload):
        census = census_date(year)
        active = [p for p in plans if p.start < census and (p.cease is None or p.cease > census)]
        gap = figures.caseload[year] - len(active)
        window_first = previous + dt.timedelta(days=1) if previous else census - dt.timedelta(days=3650)
        window_last = census - dt.timedelta(days=1)
        if previous is None and flow_first is not None:  # plans older than the published flows
            window_last = min(window_last, dt.date(flow_first, 1, 1) - dt.timedelta(days=1))
        if gap > 0:  # older plans (before the first census) or transfers in during the window
            for _ in range(gap):
                start = _day(rng, window_first, window_last)
                received = start - dt.timedelta(days=int(rng.integers(60, 200)))
                person = people.new(received)
                request = {"ReceivedDate": received.isoformat(), "RYA": "0", "RequestOutcome": "A",
                           "RequestOutcomeDate": (received + dt.timedelta(days=40)).isoformat(),
                           "Assessment": {"AssessmentOutcome": "Y", "Week20": "0",
                                          "AssessmentOutcomeDate": start.isoformat(),
                                          "NamedPlan": {"StartDate": start.isoformat()}}}
                transfer = previous is not None
                if transfer:
                    request["ActivePlans"] = {"TransferLA": str(int(rng.integers(201, 940)))}
                person["Requests"].append(request)
                plans.append(_Plan(person, request, start, transfer=transfer))
        elif gap < 0:  # cease plans that were active before the window, within the window
            ceasable = [p for p in active if p.start < window_first]
            if len(ceasable) < -gap:
                raise ValueError(f"LA {figures.la_number} January {year}: the caseload falls faster than "
                                 "plans can cease")
            for i in rng.choice(len(ceasable), size=-gap, replace=False):
                ceasable[int(i)].cease = _day(rng, window_first, census - dt.timedelta(days=1))
        previous = census


def _finish_plan(plan: _Plan, rng: np.random.Generator, census: dt.date | None) -> None:
    """Cease details, placement and needs of the plan; active plans get an ActivePlans module with their
    latest annual review (most within the 12 months before the last census) and, for some, a phase transfer."""
    named = plan.request["Assessment"]["NamedPlan"]
    setting = rng.random()
    detail = ({"SENSetting": "OLA", "PlacementRank": "1"} if setting < 0.05
              else {"URN": str(int(rng.integers(100000, 150000))), "PlacementRank": "1"})
    named["PlanDetail"] = [detail]
    if plan.cease is not None:
        named["CeaseDate"] = plan.cease.isoformat()
        named["CeaseReason"] = str(int(rng.choice([1, 2, 3, 4, 5, 7, 9])))
        return
    active = plan.request.setdefault("ActivePlans", {})
    latest = census or plan.start + dt.timedelta(days=365)
    review = max(plan.start + dt.timedelta(days=300), latest - dt.timedelta(days=int(rng.integers(0, 420))))
    active["ReviewMeeting"] = review.isoformat()
    active["ReviewOutcome"] = str(int(rng.choice([1, 1, 2])))
    active["LastReview"] = (review + dt.timedelta(days=int(rng.integers(0, 28)))).isoformat()
    if rng.random() < 0.15:
        due = dt.date(review.year, 2, 15)
        active["PhaseTransferDueDate"] = due.isoformat()
        active["PhaseTransferFinalDate"] = (due + dt.timedelta(days=int(rng.integers(-40, 20)))).isoformat()
    active["PlacementDetail"] = [{**detail, "EntryDate": plan.start.isoformat()}]
    active["SENneed"] = [{"SENtype": str(rng.choice(SEN_TYPES[:13])), "SENtypeRank": "1"}]


# --- the XML -------------------------------------------------------------------------------------------

PERSON_ORDER = ("Surname", "Forename", "PersonBirthDate", "Sex", "Ethnicity", "PostCode", "UPN",
                "UniqueLearnerNumber", "UPNunknown")
REQUEST_ORDER = ("ReceivedDate", "RequestSource", "RYA", "RequestOutcomeDate", "RequestOutcome",
                 "RequestMediation", "RequestTribunal", "Exported")
ASSESSMENT_ORDER = ("AssessmentOutcome", "AssessmentOutcomeDate", "AssessmentMediation", "AssessmentTribunal",
                    "OtherMediation", "OtherTribunal", "Week20")
PLAN_ORDER = ("StartDate", "PlanRes", "PlanWBP", "PB", "OA", "DP", "CeaseDate", "CeaseReason")
ACTIVE_ORDER = ("TransferLA", "RES", "WBP", "ReviewMeeting", "ReviewOutcome", "ReviewDraft", "PhaseTransferDueDate",
                "PhaseTransferFinalDate", "LastReview")
DETAIL_ORDER = ("URN", "UKPRN", "SENSetting", "SENSettingOther", "PlacementRank", "EntryDate", "LeavingDate",
                "SENunitIndicator", "ResourcedProvisionIndicator", "RES", "WBP")


def _items(values: dict, order: Iterable[str], indent: str, rename: dict[str, str]) -> Iterator[str]:
    for name in order:
        value = values.get(name)
        if value is not None:
            tag = rename.get(name, name)
            yield f"{indent}<{tag}>{escape(str(value))}</{tag}>\n"


def write_sen2_xml(path: Path, persons: Iterable[dict], la_number: str, reference_date: dt.date,
                   extract_date: dt.date, wbp_spelling: str = "PlanWBP") -> Path:
    """Stream `persons` to an SEN2 XML return (spec 3.2); `wbp_spelling` PlanWBP or PlanWPB."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rename = {"PlanWBP": wbp_spelling}
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<Message>\n <Header>\n  <CollectionDetails>\n'
                  f"   <Collection>SEN2</Collection>\n   <Year>{reference_date.year}</Year>\n"
                  f"   <ReferenceDate>{reference_date.isoformat()}</ReferenceDate>\n  </CollectionDetails>\n"
                  f"  <Source>\n   <SourceLevel>L</SourceLevel>\n   <LEA>{la_number}</LEA>\n"
                  "   <SoftwareCode>DemoCMS</SoftwareCode>\n   <Release>2025.1</Release>\n   <SerialNo>1</SerialNo>\n"
                  f"   <DateTime>{extract_date.isoformat()}T08:00:00</DateTime>\n  </Source>\n </Header>\n"
                  " <Persons>\n")
        for person in persons:
            parts = ["  <Person>\n", *_items(person, PERSON_ORDER, "   ", rename)]
            for request in person.get("Requests", []):
                parts.append("   <Requests>\n")
                parts.extend(_items(request, REQUEST_ORDER, "    ", rename))
                assessment = request.get("Assessment")
                if assessment is not None:
                    parts.append("    <Assessment>\n")
                    parts.extend(_items(assessment, ASSESSMENT_ORDER, "     ", rename))
                    plan = assessment.get("NamedPlan")
                    if plan is not None:
                        parts.append("     <NamedPlan>\n")
                        parts.extend(_items(plan, PLAN_ORDER, "      ", rename))
                        for detail in plan.get("PlanDetail", []):
                            parts.append("      <PlanDetail>\n")
                            parts.extend(_items(detail, DETAIL_ORDER[:5] + DETAIL_ORDER[7:9], "       ", rename))
                            parts.append("      </PlanDetail>\n")
                        parts.append("     </NamedPlan>\n")
                    parts.append("    </Assessment>\n")
                active = request.get("ActivePlans")
                if active is not None:
                    parts.append("    <ActivePlans>\n")
                    parts.extend(_items(active, ACTIVE_ORDER, "     ", rename))
                    for detail in active.get("PlacementDetail", []):
                        parts.append("     <PlacementDetail>\n")
                        parts.extend(_items(detail, DETAIL_ORDER, "      ", rename))
                        parts.append("     </PlacementDetail>\n")
                    for need in active.get("SENneed", []):
                        parts.append("     <SENneed>\n")
                        parts.extend(_items(need, ("SENtype", "SENtypeRank"), "      ", rename))
                        parts.append("     </SENneed>\n")
                    parts.append("    </ActivePlans>\n")
                parts.append("   </Requests>\n")
            parts.append("  </Person>\n")
            out.write("".join(parts))
        out.write(" </Persons>\n</Message>\n")
    return path


# --- the flat export (one CSV per module, linked by table ids) ------------------------------------------

FLAT_COLUMNS = {
    "person": ("surname", "forename", "personbirthdate", "sex", "ethnicity", "postcode", "upn",
               "uniquelearnernumber", "upnunknown"),
    "requests": ("receiveddate", "requestsource", "rya", "requestoutcomedate", "requestoutcome", "requestmediation",
                 "requesttribunal", "exported"),
    "assessment": ("assessmentoutcome", "assessmentoutcomedate", "assessmentmediation", "assessmenttribunal",
                   "othermediation", "othertribunal", "week20"),
    "namedplan": ("startdate", "planres", "planwbp", "pb", "oa", "dp", "ceasedate", "ceasereason"),
    "plandetail": ("urn", "ukprn", "sensetting", "sensettingother", "placementrank", "senunitindicator",
                   "resourcedprovisionindicator"),
    "activeplans": ("transferla", "reviewmeeting", "reviewoutcome", "reviewdraft", "phasetransferduedate",
                    "phasetransferfinaldate", "lastreview"),
    "placementdetail": ("urn", "ukprn", "sensetting", "sensettingother", "placementrank", "entrydate",
                        "leavingdate", "senunitindicator", "resourcedprovisionindicator", "res", "wbp"),
    "senneed": ("sentype", "sentyperank"),
}
FLAT_PARENT = {"person": "sen2tableid", "requests": "persontableid", "assessment": "requeststableid",
               "namedplan": "assessmenttableid", "plandetail": "namedplantableid", "activeplans": "requeststableid",
               "placementdetail": "activeplanstableid", "senneed": "activeplanstableid"}


def _blade_date(text: str | None) -> str | None:
    """`2025-01-16` -> `2025-Jan-16 00:00:00` (the Blade export's date format)."""
    if not text or len(text) != 10 or text[4] != "-":
        return text
    return dt.date.fromisoformat(text).strftime("%Y-%b-%d 00:00:00")


def write_sen2_flat_export(folder: Path, persons: Iterable[dict], la_number: str, reference_date: dt.date,
                           extract_date: dt.date) -> list[Path]:
    """The same return as a flat export: `Blade-Export_<dd-mm-yyyy>_<module>.csv`, one file per module."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    prefix = f"Blade-Export_{extract_date:%d-%m-%Y}"
    rows: dict[str, list[dict]] = {module: [] for module in FLAT_COLUMNS}
    ids = {module: 0 for module in FLAT_COLUMNS}

    def add(module: str, values: dict, parent: int) -> int:
        ids[module] += 1
        lowered = {k.lower(): v for k, v in values.items() if not isinstance(v, (dict, list))}
        lowered = {k: (_blade_date(v) if k.endswith("date") or k in ("reviewmeeting", "reviewdraft", "lastreview")
                       else v) for k, v in lowered.items()}
        rows[module].append({f"{module}tableid": ids[module], FLAT_PARENT[module]: parent,
                             **{c: lowered.get(c) for c in FLAT_COLUMNS[module]}})
        return ids[module]

    for person in persons:
        person_id = add("person", person, 1)
        for request in person.get("Requests", []):
            request_id = add("requests", request, person_id)
            assessment = request.get("Assessment")
            if assessment is not None:
                assessment_id = add("assessment", assessment, request_id)
                plan = assessment.get("NamedPlan")
                if plan is not None:
                    plan_id = add("namedplan", plan, assessment_id)
                    for detail in plan.get("PlanDetail", []):
                        add("plandetail", detail, plan_id)
            active = request.get("ActivePlans")
            if active is not None:
                active_id = add("activeplans", active, request_id)
                for detail in active.get("PlacementDetail", []):
                    add("placementdetail", detail, active_id)
                for need in active.get("SENneed", []):
                    add("senneed", need, active_id)
    written = []
    header = {"sen2tableid": 1, "collection": "SEN2", "year": reference_date.year,
              "referencedate": _blade_date(reference_date.isoformat()), "sourcelevel": "L", "lea": la_number,
              "softwarecode": "DemoCMS", "release": "2025.1", "serialno": 1,
              "datetime": extract_date.strftime("%Y-%b-%d 08:00:00")}
    tables = {"sen2": [header], **rows}
    for module, table in tables.items():
        path = folder / f"{prefix}_{module}.csv"
        columns = list(header) if module == "sen2" else [f"{module}tableid", FLAT_PARENT[module],
                                                         *FLAT_COLUMNS[module]]
        with open(path, "w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=columns)
            writer.writeheader()
            writer.writerows(table)
        written.append(path)
    return written


def write_demo_return(raw_dir: Path, release_zip: Path, la_number: str, extract_date: dt.date,
                      seed: int = 20241) -> Path:
    """The demo LA's SEN2 XML return in `<raw_dir>/local/`, built from its figures in the demo release:
    census reference date of the extract's year, extract date `extract_date`."""
    figures = published_figures(release_zip, la_number)
    persons = synthesise_return(figures, seed=seed, until=extract_date)
    reference = census_date(extract_date.year)
    return write_sen2_xml(Path(raw_dir) / "local" / f"sen2_{la_number}_{extract_date:%Y-%m-%d}.xml", persons,
                          la_number, reference, extract_date)
