"""The README's settings table lists every environment variable the code reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READS = re.compile(r"""(?:environ(?:\.get)?\(\s*|environ\[\s*|getenv\(\s*|env_var\(\s*)['"]([A-Z][A-Z0-9_]+)['"]""")
NAMED = re.compile(r"""['"](SEND_[A-Z0-9_]+)['"]""")  # a setting's name held in a constant


def variables_read() -> set[str]:
    found: set[str] = set()
    files = [*ROOT.joinpath("pipelines").rglob("*.py"), *ROOT.joinpath("demo").rglob("*.py"),
             *ROOT.joinpath("dbt_project").glob("*.yml"), *ROOT.joinpath("dbt_project", "models").rglob("*.sql"),
             *ROOT.joinpath("dbt_project", "macros").rglob("*.sql")]
    for path in files:
        text = path.read_text(encoding="utf-8")
        found |= set(READS.findall(text)) | set(NAMED.findall(text))
    # a name that only begins others (startswith("SEND_REFRESH_PAUSE")) is a prefix, not a setting
    return {name for name in found if not any(other != name and other.startswith(name + "_") for other in found)}


def test_every_variable_the_code_reads_is_in_the_settings_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Settings"):].split("\n## ", 1)[0]
    found = variables_read()
    assert {"SEND_WAREHOUSE", "SEND_NOTIFY_WEBHOOK", "SEND_NOTIFY_COMMAND", "SEND_EXPECTATIONS",
            "SEND_SCORECARD_LA", "SEND_PSEUDONYM_KEY", "SEND_SUPPRESSION_THRESHOLD"} <= found
    missing = sorted(v for v in found if f"`{v}`" not in table)
    assert not missing, f"README's settings table lacks {missing}"
