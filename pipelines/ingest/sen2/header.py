"""The return's header (Message/Header, spec 3.2.1; the flat export's sen2 table) and version evidence."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from pipelines.errors import SourceFormatError
from pipelines.ingest.local import NOT_QUOTED
from pipelines.ingest.sen2 import spec


@dataclass
class Sen2Header:
    """What a return says about itself, plus what the reader learnt while reading it."""

    file: str
    la_number: str | None = None
    collection: str | None = None
    year: int | None = None
    reference_date: dt.date | None = None
    extract_date: dt.date | None = None
    software_code: str | None = None
    software_release: str | None = None
    serial_no: str | None = None
    source_level: str | None = None
    evidence: dict[str, str] = field(default_factory=dict)  # version marker -> the item that showed it
    persons: int = 0
    requests: int = 0

    @classmethod
    def from_items(cls, file: str, items: dict[str, str], where: str) -> Sen2Header:
        header = cls(file)
        header.la_number = (items.get("la_number") or "").strip() or None
        header.collection = (items.get("collection") or "").strip() or None
        header.software_code = items.get("software_code")
        header.software_release = items.get("software_release")
        header.serial_no = items.get("serial_no")
        header.source_level = items.get("source_level")
        if items.get("year"):
            try:
                header.year = int(items["year"].strip())
            except ValueError:
                raise SourceFormatError(file, f"{where} <Year>: {NOT_QUOTED} is not a year") from None
        for name, target in (("reference_date", "reference_date"), ("extract_datetime", "extract_date")):
            text = (items.get(name) or "").strip()
            if text:
                try:
                    value = dt.date.fromisoformat(text[:10])
                except ValueError:
                    try:
                        value = dt.datetime.strptime(text[:11].strip(), "%Y-%b-%d").date()
                    except ValueError:
                        element = "ReferenceDate" if name == "reference_date" else "DateTime"
                        raise SourceFormatError(file, f"{where} <{element}>: {NOT_QUOTED} is not a date") from None
                setattr(header, target, value)
        if "dsco" in items:
            header.note_item("header", "dsco")
        return header

    def check(self, where: str, expected_la: set[str] | None) -> None:
        """Collection, reference date and LA [spec 3.2.1: Collection is SEN2; LEA is the returning LA]."""
        if self.collection and self.collection.upper() != "SEN2":
            raise SourceFormatError(self.file, f"{where} <Collection>: the file is not a SEN2 return (its collection "
                                               "is another one; the value is not shown)")
        if self.la_number is None:
            raise SourceFormatError(self.file, f"{where} <LEA>: the LA number is missing, so the return "
                                               "cannot be matched to a council")
        if expected_la and self.la_number.lstrip("0") not in {la.lstrip("0") for la in expected_la}:
            # an LA number is shown only when it is one (three digits); any other text is not quoted
            shown = f"LA {self.la_number}" if re.fullmatch(r"\d{3}", self.la_number) else "another LA"
            raise SourceFormatError(
                self.file, f"{where} <LEA>: the return belongs to {shown}, not to this scorecard's "
                           f"LA ({', '.join(sorted(expected_la))}); load each council's return in its own warehouse")
        if self.reference_date is None:
            raise SourceFormatError(self.file, f"{where} <ReferenceDate>: the census reference date is missing")
        if self.extract_date is None:
            self.extract_date = self.reference_date
        today = dt.date.today()
        if self.extract_date > today:
            raise SourceFormatError(self.file, f"{where} <DateTime>: the return's extract date is in the future "
                                               f"(today is {today:%d/%m/%Y}); correct it and export the return again")

    def note_item(self, module: str, item: str) -> None:
        """Record an item that only some versions have; a file mixing 1.1-only and 1.3-only items is refused."""
        marker = (module, item)
        if marker in spec.FROM_1_3:
            self.evidence.setdefault("1.3", f"<{item}> in {module}")
        elif marker in spec.FROM_1_2:
            self.evidence.setdefault("1.2", f"<{item}> in {module}")
        elif marker in spec.ONLY_BEFORE_1_2:
            self.evidence.setdefault("1.1", f"<{item}> in {module}")
        else:
            return
        if "1.1" in self.evidence and ("1.2" in self.evidence or "1.3" in self.evidence):
            newer = self.evidence.get("1.3") or self.evidence["1.2"]
            raise SourceFormatError(
                self.file, f"the return mixes items of specification versions: {self.evidence['1.1']} was "
                           f"dropped in version 1.2 but {newer} only exists from version 1.2/1.3; this is not a "
                           "known SEN2 version (1.1-1.3)")

    @property
    def spec_version(self) -> str:
        """1.3 if a 1.3 item was seen, 1.2 if a 1.2 item, 1.1 if a 1.1-only item; else 1.2 (items common to all)."""
        for version in ("1.3", "1.2", "1.1"):
            if version in self.evidence:
                return version
        return "1.2"
