"""Streaming reader of the SEN2 XML return (spec 3.2: Message/Header, Message/Persons/Person/...).

The file is parsed with ElementTree's iterparse: each Person is turned into rows and then cleared,
so memory holds one batch of persons whatever the file's size. The first problem stops the file with
one sentence naming the file and the element (and the person's position in the file, never a
personal value).
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from pipelines.errors import SourceFormatError
from pipelines.ingest.pseudonymise import pseudonym_key
from pipelines.ingest.sen2 import spec
from pipelines.ingest.sen2.header import Sen2Header
from pipelines.ingest.sen2.rows import BatchBuilder, PersonRecord, RequestRecord

BATCH_PERSONS = 5_000


def _local(tag: str) -> str:
    """`{namespace}Person` -> `person` (names compare case-insensitively)."""
    return tag.rsplit("}", 1)[-1].lower()


def _text(element: ET.Element) -> str | None:
    text = (element.text or "").strip()
    return text or None


def _unknown(file: str, where: str, element: ET.Element, module: str) -> SourceFormatError:
    name = element.tag.rsplit("}", 1)[-1]
    return SourceFormatError(
        file, f"{where}: the element <{name}> in {module} is not part of the SEN2 person-level specification "
              "(versions 1.1-1.3, spec 3.2.2); the file looks like an unknown version of the return")


class Sen2XmlReader:
    """`batches()` yields dicts of raw-table frames; `header` is filled in as soon as the Header is read."""

    def __init__(self, path: Path, key: str | bytes | None = None, expected_la: set[str] | None = None,
                 batch_persons: int = BATCH_PERSONS, name: str | None = None):
        self.path = Path(path)
        self.file = name or self.path.name
        self.key = pseudonym_key(key)
        self.expected_la = expected_la
        self.batch_persons = batch_persons
        self.header: Sen2Header | None = None
        self.sha256 = ""

    def batches(self) -> Iterator[dict[str, pl.DataFrame]]:
        digest = hashlib.sha256()
        stream = _HashingReader(self.path, digest)
        builder: BatchBuilder | None = None
        seen_persons_module = False
        position = 0
        depth_tags: list[str] = []
        persons_parent: ET.Element | None = None
        try:
            for event, element in ET.iterparse(stream, events=("start", "end")):
                tag = _local(element.tag)
                if event == "start":
                    depth_tags.append(tag)
                    if len(depth_tags) == 1 and tag != "message":
                        raise SourceFormatError(self.file, f"<{element.tag.rsplit('}', 1)[-1]}>: the root element "
                                                           "is not <Message>, so this is not an SEN2 XML return")
                    if tag == "persons" and len(depth_tags) == 2:
                        seen_persons_module = True
                        persons_parent = element
                        if self.header is None:
                            raise SourceFormatError(self.file, "Message/Persons: the return has no <Header> "
                                                               "before the persons (module Message/Header missing)")
                    continue
                depth_tags.pop()
                if tag == "header" and len(depth_tags) == 1:
                    self.header = self._header(element)
                    builder = BatchBuilder(self.file, self.key, self.header.reference_date)
                    element.clear()
                elif tag == "person" and len(depth_tags) == 2 and depth_tags[1] == "persons":
                    position += 1
                    record = self._person(element, position)
                    builder.add(record)
                    self.header.persons += 1
                    self.header.requests += len(record.requests)
                    element.clear()
                    if persons_parent is not None:
                        persons_parent.clear()
                    if builder.persons >= self.batch_persons:
                        yield builder.frames()
                        builder.clear()
                elif len(depth_tags) == 1 and tag not in ("header", "persons"):
                    raise _unknown(self.file, f"Message/{element.tag.rsplit('}', 1)[-1]}", element, "Message")
                elif len(depth_tags) == 2 and depth_tags[1] == "persons" and tag != "person":
                    raise _unknown(self.file, "Message/Persons", element, "Persons")
        except ET.ParseError as exc:
            line, column = exc.position
            raise SourceFormatError(self.file, f"the XML is malformed at line {line}, column {column} "
                                               f"(after {position} complete person(s)): {_reason(exc)}") from None
        if self.header is None:
            raise SourceFormatError(self.file, "Message/Header: the return has no <Header> module")
        if not seen_persons_module:
            raise SourceFormatError(self.file, "Message/Persons: the return has no <Persons> module")
        self.sha256 = digest.hexdigest()
        if builder is not None and builder.persons:
            yield builder.frames()

    def _header(self, element: ET.Element) -> Sen2Header:
        items: dict[str, str] = {}
        for group in element:
            for child in group:
                name = _local(child.tag)
                if name not in spec.HEADER_ITEMS:
                    raise _unknown(self.file, f"Message/Header/{group.tag.rsplit('}', 1)[-1]}", child, "Header")
                items[spec.HEADER_ITEMS[name]] = _text(child) or ""
        header = Sen2Header.from_items(self.file, items, "Message/Header")
        if "dsco" in {_local(c.tag) for g in element for c in g}:
            header.note_item("header", "dsco")
        header.check("Message/Header/Source", self.expected_la)
        return header

    def _person(self, element: ET.Element, position: int) -> PersonRecord:
        where = f"Person {position}"
        person = PersonRecord(position)
        header = self.header
        for child in element:
            name = _local(child.tag)
            if name == "requests":
                person.requests.append(self._request(child, f"{where}, Requests {len(person.requests) + 1}"))
            elif name in spec.PERSON_ITEMS:
                header.note_item("person", name)
                value = _text(child)
                if value is not None:
                    person.items[spec.PERSON_ITEMS[name]] = value
            else:
                raise _unknown(self.file, where, child, "Person")
        return person

    def _request(self, element: ET.Element, where: str) -> RequestRecord:
        request = RequestRecord()
        items = request.items
        for child in element:
            name = _local(child.tag)
            if name == "assessment":
                items["__assessment"] = "1"
                self._assessment(child, request, f"{where}, Assessment")
            elif name == "activeplans":
                items["__active_plan"] = "1"
                self._active_plans(child, request, f"{where}, ActivePlans")
            elif name in spec.REQUEST_ITEMS:
                self.header.note_item("request", name)
                _put(items, spec.REQUEST_ITEMS[name], child)
            else:
                raise _unknown(self.file, where, child, "Requests")
        return request

    def _assessment(self, element: ET.Element, request: RequestRecord, where: str) -> None:
        for child in element:
            name = _local(child.tag)
            if name == "namedplan":
                request.items["__named_plan"] = "1"
                for item in child:
                    item_name = _local(item.tag)
                    if item_name == "plandetail":
                        request.plan_details.append(self._detail(item, f"{where}, NamedPlan, PlanDetail"))
                    elif item_name in spec.NAMED_PLAN_ITEMS:
                        _put(request.items, spec.NAMED_PLAN_ITEMS[item_name], item)
                    else:
                        raise _unknown(self.file, f"{where}, NamedPlan", item, "NamedPlan")
            elif name in spec.ASSESSMENT_ITEMS:
                _put(request.items, spec.ASSESSMENT_ITEMS[name], child)
            else:
                raise _unknown(self.file, where, child, "Assessment")

    def _active_plans(self, element: ET.Element, request: RequestRecord, where: str) -> None:
        for child in element:
            name = _local(child.tag)
            if name == "placementdetail":
                request.placements.append(self._detail(child, f"{where}, PlacementDetail", placement=True))
            elif name == "senneed":
                need: dict[str, str] = {}
                for item in child:
                    item_name = _local(item.tag)
                    if item_name not in spec.NEED_ITEMS:
                        raise _unknown(self.file, f"{where}, SENneed", item, "SENneed")
                    _put(need, spec.NEED_ITEMS[item_name], item)
                request.needs.append(need)
            elif name in spec.ACTIVE_PLAN_ITEMS:
                self.header.note_item("active", name)
                _put(request.items, spec.ACTIVE_PLAN_ITEMS[name], child)
            else:
                raise _unknown(self.file, where, child, "ActivePlans")

    def _detail(self, element: ET.Element, where: str, placement: bool = False) -> dict[str, str]:
        detail: dict[str, str] = {}
        for item in element:
            name = _local(item.tag)
            if name not in spec.PLACEMENT_ITEMS or (not placement and name in (
                    "entrydate", "leavingdate", "attendancepattern", "res", "wbp", "wpb")):
                raise _unknown(self.file, where, item, "PlacementDetail" if placement else "PlanDetail")
            if placement:
                self.header.note_item("placement", name)
            _put(detail, spec.PLACEMENT_ITEMS[name], item)
        return detail


def _put(items: dict[str, str], name: str, element: ET.Element) -> None:
    value = _text(element)
    if value is not None:
        items[name] = value


def _reason(exc: ET.ParseError) -> str:
    text = str(exc)
    return text.split(":", 1)[0] if ":" in text else text


class _HashingReader:
    """A binary file object that feeds every byte read to a hash (the file's SHA-256 without a second pass)."""

    def __init__(self, path: Path, digest):
        self._file = open(path, "rb")  # noqa: SIM115 - closed at EOF
        self._digest = digest

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size if size and size > 0 else 1 << 20)
        if data:
            self._digest.update(data)
        else:
            self._file.close()
        return data


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

