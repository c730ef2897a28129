"""Reader of the SEN2 flat export: one CSV per module, linked by table ids (the "Blade" export).

File names: `<prefix>_<module>.csv`, e.g. `Blade-Export_30-06-2025_person.csv`, for the modules
sen2 (header), person, requests, assessment, namedplan, plandetail, activeplans, placementdetail and
senneed (../shared/data/sen2/sen2_person_level_export_fields.csv). The modules are joined back into
persons and handed to the same row builder as the XML, so both formats give identical rows. Memory
holds the export's rows (a flat export is joined by ids, so it cannot be streamed person by person).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from pipelines.errors import SourceFormatError
from pipelines.ingest.pseudonymise import pseudonym_key
from pipelines.ingest.rawfile import RawFile, decode_text
from pipelines.ingest.sen2 import spec
from pipelines.ingest.sen2.header import Sen2Header
from pipelines.ingest.sen2.rows import BatchBuilder, PersonRecord, RequestRecord

MODULES = ("sen2", "person", "requests", "assessment", "namedplan", "plandetail", "activeplans",
           "placementdetail", "senneed")
# module -> (its own id column, the parent's id column)
LINKS = {
    "person": ("persontableid", "sen2tableid"), "requests": ("requeststableid", "persontableid"),
    "assessment": ("assessmenttableid", "requeststableid"), "namedplan": ("namedplantableid", "assessmenttableid"),
    "plandetail": ("plandetailtableid", "namedplantableid"), "activeplans": ("activeplanstableid", "requeststableid"),
    "placementdetail": ("placementdetailtableid", "activeplanstableid"),
    "senneed": ("senneedtableid", "activeplanstableid"),
}
FLAT_NAME = re.compile(r"^(?P<prefix>.+?)[_-](?P<module>sen2|person|requests|assessment|named_?plan|plan_?detail|"
                       r"active_?plans|placement_?detail|sen_?need)\.csv$", re.IGNORECASE)
BOOKKEEPING = {"nativeid", "sourceid"}


def flat_module(base_name: str) -> tuple[str, str] | None:
    """(export prefix, module) for a flat-export file name, else None."""
    match = FLAT_NAME.match(base_name)
    if not match:
        return None
    return match["prefix"], match["module"].lower().replace("_", "")


def is_flat_export_file(base_name: str) -> bool:
    found = flat_module(base_name)
    return found is not None and found[0].lower().startswith(("blade", "sen2"))


class Sen2FlatReader:
    """Reads one export (its module files); `batches()` yields dicts of raw-table frames like the XML reader."""

    def __init__(self, files: list[Path], key: str | bytes | None = None, expected_la: set[str] | None = None,
                 batch_persons: int = 5_000):
        self.files = {flat_module(f.name)[1]: f for f in files if flat_module(f.name)}
        prefix = flat_module(files[0].name)[0] if files else "export"
        self.file = f"{prefix} (SEN2 flat export)"
        self.key = pseudonym_key(key)
        self.expected_la = expected_la
        self.batch_persons = batch_persons
        self.header: Sen2Header | None = None
        digest = hashlib.sha256()
        for module in sorted(self.files):
            digest.update(self.files[module].read_bytes())
        self.sha256 = digest.hexdigest()

    def _table(self, module: str) -> list[dict[str, str]]:
        path = self.files.get(module)
        if path is None:
            raise SourceFormatError(
                self.file, f"the module '{module}' is missing: the flat export needs one CSV per module "
                           f"({', '.join(m + '.csv' for m in MODULES)}), e.g. {self.file.split(' ')[0]}_{module}.csv")
        text = decode_text(RawFile(path.name, path.read_bytes()))
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is None:
            raise SourceFormatError(path.name, "the file is empty (no header row)")
        rows = []
        for row in reader:
            if None in row:
                raise SourceFormatError(path.name, "has more fields than the header", row=reader.line_num)
            rows.append({k.strip().lower(): (v.strip() if v and v.strip() else None) for k, v in row.items()})
        own, parent = LINKS.get(module, ("sen2tableid", None))
        missing = [c for c in (own, parent) if c and c not in {f.strip().lower() for f in reader.fieldnames}]
        if missing:
            raise SourceFormatError(path.name, f"lacks the id column(s) {', '.join(missing)} that link the modules")
        return rows

    def _known(self, module: str, row: dict[str, str], line: int, items: dict[str, str], version_module: str,
               skip: set[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for column, value in row.items():
            if column in skip or column in BOOKKEEPING or column.endswith(("tableid", "orderseqcolumn")):
                continue
            if column not in items:
                raise SourceFormatError(
                    self.files[module].name, f"the column '{column}' is not part of the SEN2 person-level "
                                             "specification (versions 1.1-1.3); the export looks like an unknown "
                                             "version", row=line)
            self.header.note_item(version_module, column)
            if value is not None:
                out[items[column]] = value
        return out

    def batches(self) -> Iterator[dict[str, pl.DataFrame]]:
        tables = {module: self._table(module) for module in MODULES}
        if len(tables["sen2"]) != 1:
            raise SourceFormatError(self.files["sen2"].name, "the sen2 module must hold exactly one row (the "
                                                             "return's header)")
        header_row = tables["sen2"][0]
        self.header = Sen2Header.from_items(
            self.files["sen2"].name, {spec.HEADER_ITEMS[k]: v for k, v in header_row.items()
                                      if k in spec.HEADER_ITEMS and v is not None}, "row 2")
        if "dsco" in header_row:
            self.header.note_item("header", "dsco")
        self.header.file = self.file
        self.header.check(f"{self.files['sen2'].name} row 2", self.expected_la)
        children: dict[str, dict[str, list[tuple[int, dict]]]] = {}
        for module in MODULES[2:]:
            own, parent = LINKS[module]
            grouped: dict[str, list[tuple[int, dict]]] = defaultdict(list)
            for line, row in enumerate(tables[module], start=2):
                if row.get(parent) is None:
                    raise SourceFormatError(self.files[module].name, f"the link to its parent ({parent}) is blank",
                                            row=line)
                grouped[row[parent]].append((line, row))
            children[module] = grouped
        builder = BatchBuilder(self.file, self.key, self.header.reference_date)
        request_items = spec.REQUEST_ITEMS
        for line, row in enumerate(tables["person"], start=2):
            person = PersonRecord(line, self._known("person", row, line, spec.PERSON_ITEMS, "person", set()),
                                  label=f"{self.files['person'].name} row {line}")
            for r_line, r_row in children["requests"].get(row["persontableid"], []):
                request = RequestRecord(self._known("requests", r_row, r_line, request_items, "request", set()))
                for a_line, a_row in children["assessment"].get(r_row["requeststableid"], []):
                    request.items["__assessment"] = "1"
                    request.items |= self._known("assessment", a_row, a_line, spec.ASSESSMENT_ITEMS, "assessment",
                                                 set())
                    for n_line, n_row in children["namedplan"].get(a_row["assessmenttableid"], []):
                        request.items["__named_plan"] = "1"
                        request.items |= self._known("namedplan", n_row, n_line, spec.NAMED_PLAN_ITEMS, "plan",
                                                     set())
                        for d_line, d_row in children["plandetail"].get(n_row["namedplantableid"], []):
                            request.plan_details.append(self._known("plandetail", d_row, d_line,
                                                                    spec.PLACEMENT_ITEMS, "plandetail", set()))
                for p_line, p_row in children["activeplans"].get(r_row["requeststableid"], []):
                    request.items["__active_plan"] = "1"
                    request.items |= self._known("activeplans", p_row, p_line, spec.ACTIVE_PLAN_ITEMS, "active",
                                                 set())
                    for d_line, d_row in children["placementdetail"].get(p_row["activeplanstableid"], []):
                        request.placements.append(self._known("placementdetail", d_row, d_line,
                                                              spec.PLACEMENT_ITEMS, "placement", set()))
                    for s_line, s_row in children["senneed"].get(p_row["activeplanstableid"], []):
                        request.needs.append(self._known("senneed", s_row, s_line, spec.NEED_ITEMS, "need", set()))
                person.requests.append(request)
            builder.add(person)
            self.header.persons += 1
            self.header.requests += len(person.requests)
            if builder.persons >= self.batch_persons:
                yield builder.frames()
                builder.clear()
        if builder.persons:
            yield builder.frames()
