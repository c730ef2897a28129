"""`make demo`: write the synthetic demo data into SEND_RAW, then run the refresh on it exactly as
`send-scorecard refresh` does (same engine, lock, run log and reports).

    python -m demo [--seed N]                      the whole demo (what `make demo` runs)
    python -m demo generate OUT_DIR [--seed N] [--scale N]   only write the demo files

The demo generator is a development tool: the pipeline package never imports it.
"""

from __future__ import annotations

import argparse
import os
import sys

from demo import generate


def run_demo(seed: int) -> int:
    """Generate the demo drop-zone and refresh the warehouse from it; returns the exit status."""
    from pipelines import config
    from pipelines.cli import refresh_with_progress
    from pipelines.console import console, friendly_errors, out
    from pipelines.reports.docs import build_docs

    raw = config.raw_dir()
    # The demo's extracts and targets are the demo LA's: say so, as a real LA sets SEND_SCORECARD_LA.
    os.environ.setdefault("SEND_SCORECARD_LA", config.demo_la())
    console.print(f"Writing demo data to {raw} (seed {seed}, LA {os.environ['SEND_SCORECARD_LA']})")
    generate.generate_demo(raw, seed=seed)

    @friendly_errors
    def refresh_and_document() -> None:
        summary = refresh_with_progress("demo")
        out.print(f"  {build_docs()}  (warehouse documentation)", highlight=False)
        out.print(f"Warehouse: {config.warehouse_path()} (try: send-scorecard status; "
                  f"{len(summary.reports)} report files listed above)", highlight=False)

    refresh_and_document()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["generate"]:
        generate.main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=20241, help="random seed (default 20241)")
    args = parser.parse_args(argv)
    return run_demo(args.seed)


if __name__ == "__main__":
    sys.exit(main())
