"""The SEN2 person-level return as DfE specifies it: elements, versions and code lists.

Sources (cited beside each rule as [spec section]):
- DfE, "SEN2 person level 2023, technical specification v1.1" (October 2022): section 2 (modules 1-5:
  person, requests, assessments, named plan, placements), 3.2 (XML schema: 3.2.1 header, 3.2.2 person
  message structure) and 4 (validation checks).
- DfE, "SEN2 person level 2022, technical specification v1.3" (November 2021): the same modules before
  the 2023 restructure (sections 2.1-2.6, 3.2 XML schema, 4 validation checks).
- The item lists of the flat export and of the XML tree in ../shared/data/sen2/ (which items each
  version added or dropped: `<v1.2`, `>=v1.2`, `>=v1.3`).

The versions 1.1-1.3 are told apart by their items, never by a version number in the file (the file
does not carry one): an item only 1.3 has makes the file 1.3, an item dropped in 1.2 makes it 1.1.
"""

from __future__ import annotations

# --- XML element names (spec 3.2.2), lower-cased: the reader compares names case-insensitively --------

PERSON_ITEMS = {
    "surname": "surname", "forename": "forename", "personbirthdate": "birth_date",
    "sex": "sex", "gendercurrent": "sex", "gender": "sex", "ethnicity": "ethnicity", "postcode": "postcode",
    "upn": "upn", "uniquelearnernumber": "uln", "upnunknown": "upn_unknown",
}
REQUEST_ITEMS = {
    "receiveddate": "received_date", "requestsource": "request_source", "rya": "rya",
    "requestoutcomedate": "request_outcome_date", "requestoutcome": "request_outcome",
    "requestmediation": "request_mediation", "requesttribunal": "request_tribunal", "exported": "exported",
}
ASSESSMENT_ITEMS = {
    "assessmentoutcome": "assessment_outcome", "assessmentoutcomedate": "assessment_outcome_date",
    "assessmentmediation": "assessment_mediation", "assessmenttribunal": "assessment_tribunal",
    "othermediation": "other_mediation", "othertribunal": "other_tribunal", "week20": "week20",
}
# PlanWBP (work-based placement) is the spelling of the DfE schema and of the Blade export; PlanWPB is
# what some suppliers' exports write. Both are accepted (../shared/data/sen2 notes).
NAMED_PLAN_ITEMS = {
    "startdate": "plan_start_date", "planres": "plan_res", "planwbp": "plan_wbp", "planwpb": "plan_wbp",
    "pb": "pb", "oa": "oa", "dp": "dp", "ceasedate": "plan_cease_date", "ceasereason": "plan_cease_reason",
}
ACTIVE_PLAN_ITEMS = {
    "transferla": "transfer_la", "res": "active_res", "wbp": "active_wbp", "wpb": "active_wbp",
    "reviewmeeting": "review_meeting_date", "reviewoutcome": "review_outcome", "reviewdraft": "review_draft_date",
    "phasetransferduedate": "phase_transfer_due_date", "phasetransferfinaldate": "phase_transfer_final_date",
    "lastreview": "last_review_date",
}
PLACEMENT_ITEMS = {
    "urn": "urn", "ukprn": "ukprn", "sensetting": "sen_setting", "sensettingother": "sen_setting_other",
    "placementrank": "placement_rank", "senunitindicator": "sen_unit", "resourcedprovisionindicator":
    "resourced_provision", "entrydate": "entry_date", "leavingdate": "leaving_date",
    "attendancepattern": "attendance_pattern", "res": "res", "wbp": "wbp", "wpb": "wbp",
}
NEED_ITEMS = {"sentype": "sen_type", "sentyperank": "sen_type_rank"}
HEADER_ITEMS = {
    "collection": "collection", "year": "year", "referencedate": "reference_date", "sourcelevel": "source_level",
    "lea": "la_number", "softwarecode": "software_code", "release": "software_release", "serialno": "serial_no",
    "datetime": "extract_datetime", "dmo": "dmo", "dco": "dco", "dsco": "dsco",
}

# Items by the versions that have them (../shared/data/sen2 version notes). Keys: (module, item).
ONLY_BEFORE_1_2 = frozenset({("person", "gendercurrent"), ("person", "gender"), ("active", "res"),
                             ("active", "wbp"), ("active", "wpb"), ("placement", "attendancepattern")})
FROM_1_2 = frozenset({("person", "sex"), ("active", "reviewmeeting"), ("active", "reviewoutcome"),
                      ("placement", "res"), ("placement", "wbp"), ("placement", "wpb")})
FROM_1_3 = frozenset({("header", "dsco"), ("request", "requestsource"), ("active", "reviewdraft"),
                      ("active", "phasetransferduedate"), ("active", "phasetransferfinaldate")})
VERSIONS = ("1.1", "1.2", "1.3")

# --- Code lists -----------------------------------------------------------------------------------------

# Module 2, request outcome [2023 spec 2.2]: A assessment agreed, H decision not to assess (the LA
# "held" the request), W withdrawn or ceased before the decision, M moved out of the LA before the
# decision. Suppliers also write the 2022 words; both map to the canonical letters.
REQUEST_OUTCOMES = {"A": "assess", "H": "not_assessed", "W": "withdrawn", "M": "moved_out"}
# Module 3, decision to issue an EHC plan [2023 spec 2.3, item 3.1]: Y plan to be issued, N not to
# issue, S plan issued after an assessment completed by another LA, W withdrawn or ceased before the
# decision, M moved out of the LA before the decision (blank while the assessment is ongoing).
ASSESSMENT_OUTCOMES = {"Y": "plan", "N": "no_plan", "S": "plan_other_la", "W": "withdrawn", "M": "moved_out"}
PLAN_OUTCOMES = frozenset({"Y", "S"})
# Module 4, reason the EHC plan ceased [2023 spec 2.4.1, item 4.6].
CEASE_REASONS = {
    1: "Reached maximum age", 2: "Needs met without an EHC plan", 3: "Moved on to higher education",
    4: "Moved on to paid employment", 5: "Transferred to another LA", 6: "Young person no longer engages",
    7: "Moved outside England", 8: "Deceased", 9: "Other",
}
# Module 4/5, SEN setting where no URN/UKPRN is given [2023 spec 2.4 item 4.7c, 2.5 item 5.7c].
SEN_SETTINGS = {
    "OLA": "Other arrangements by the LA (EOTAS)", "OPA": "Other arrangements by parents (excluding EHE)",
    "EHE": "Elective home education", "EYP": "Early years provider without a URN", "OTH": "Other",
    "NEET": "Not in education, employment or training (16-25)", "NIEC": "Not in education - ceasing",
    "NIEO": "Not in education - other",
}
# Module 5, SEN type (primary need when rank 1) [2023 spec 2.5, item 5.8a].
SEN_TYPES = ("SPLD", "MLD", "SLD", "PMLD", "SEMH", "SLCN", "HI", "VI", "MSI", "PD", "ASD", "DS", "OTH", "NSA")
# Module 5, annual review decision [2023 spec 2.5 items 5.3-5.4; Capita One lookup 0441 codes].
REVIEW_OUTCOMES = {"1": "maintain unchanged", "2": "amend", "3": "cease"}
# Module 1, sex [2023 spec 2.1]: F, M, U (unknown); gender in 1.1 used the same letters or 0/1/2/9.
SEX_CODES = {"F": "F", "M": "M", "U": "U", "1": "M", "2": "F", "0": "U", "9": "U"}
# UPN unknown reasons [2023 spec 2.1 item 1.9]: UN1-UN10 (e.g. UN1 child not yet in school).
UPN_UNKNOWN_PREFIX = "UN"

# The 20-week limit [2023 spec 2.3 item 3.7; SEND Regulations 2014 reg. 13]: a plan issued within 20
# weeks of the request is at most 140 days after the request was received.
TWENTY_WEEKS_DAYS = 140

TRUE_WORDS = frozenset({"1", "true", "y", "yes", "t"})
FALSE_WORDS = frozenset({"0", "false", "n", "no", "f"})

# The XML spelling of each item (for messages): internal column -> element name.
ELEMENT_NAMES = {
    "received_date": "ReceivedDate", "request_source": "RequestSource", "rya": "RYA",
    "request_outcome_date": "RequestOutcomeDate", "request_outcome": "RequestOutcome",
    "request_mediation": "RequestMediation", "request_tribunal": "RequestTribunal", "exported": "Exported",
    "assessment_outcome": "AssessmentOutcome", "assessment_outcome_date": "AssessmentOutcomeDate",
    "assessment_mediation": "AssessmentMediation", "assessment_tribunal": "AssessmentTribunal",
    "other_mediation": "OtherMediation", "other_tribunal": "OtherTribunal", "week20": "Week20",
    "plan_start_date": "StartDate", "plan_res": "PlanRes", "plan_wbp": "PlanWBP", "pb": "PB", "oa": "OA",
    "dp": "DP", "plan_cease_date": "CeaseDate", "plan_cease_reason": "CeaseReason", "transfer_la": "TransferLA",
    "active_res": "RES", "active_wbp": "WBP", "review_meeting_date": "ReviewMeeting",
    "review_outcome": "ReviewOutcome", "review_draft_date": "ReviewDraft",
    "phase_transfer_due_date": "PhaseTransferDueDate", "phase_transfer_final_date": "PhaseTransferFinalDate",
    "last_review_date": "LastReview",
}
