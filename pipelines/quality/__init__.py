"""Quality gates: Great Expectations suites per raw source, checked before a file is loaded.

- `build_suites.py` writes the reviewed suites in `expectations/<raw table>.json` from compact definitions;
- `suites.py` loads them and computes the helper columns they refer to;
- `gates.py` validates a parsed file, records the results in `dq.*` and quarantines a file that fails;
- `cli_check.py` (`send-scorecard check`) and `report.py` (`send-scorecard dq-report`) show the findings.
"""
