"""Generate the demo data set: synthetic national SEND data for every English LA, written in the exact
formats of the real DfE files (names, columns, encodings, symbols and quirks), deterministically from a seed.

    python -m demo generate OUT_DIR [--seed N] [--scale N]

`scale` multiplies the volume for benchmarks by reaching further back in time (scale 10 gives about ten
times the rows); the reference files (LA lookup, LA list, SN groups, data dictionary) and the one-year KS4
workbook do not grow.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from demo import ehcp, geography, lait, national, reference
from demo.local import DEMO_EXTRACT_DATE, generate_local_extracts
from demo.sen2 import write_demo_return
from demo.world import DEMO_LA, World


def generate_demo(raw_dir: Path, seed: int = 20241, scale: int = 1, with_local: bool = True) -> list[Path]:
    """Write the demo drop-zone (`reference/`, `national/...`, and unless `with_local` is False the demo
    LA's monthly extracts and its SEN2 XML return in `local/`) under `raw_dir`; return the files written."""
    if scale < 1:
        raise ValueError(f"scale must be at least 1, not {scale}")
    raw_dir = Path(raw_dir)
    # LAIT's longest series (2016-2025) reaches back furthest; one more year feeds year-on-year changes.
    world = World(seed, first_year=geography.extended_years(2016, 2025, scale)[0] - 1)
    lait_dir = raw_dir / "national" / "lait"
    release = ehcp.write_release(world, raw_dir, scale)
    return [
        reference.write_la_lookup(raw_dir),
        lait.write_long_data(world, lait_dir / "bds_long_0.parquet", scale),
        lait.write_data_dictionary(lait_dir / "lait_data_dictionary.csv"),
        lait.write_sn_2025(world, lait_dir / "sn_may_2025.xlsx"),
        lait.write_sn_2021(world, lait_dir / "sn_april_2021.xlsx"),
        lait.write_la_code_list(lait_dir / "la_code_list.xlsx"),
        release,
        *national.write_neet(world, raw_dir, scale),
        *national.write_pupils(world, raw_dir, scale),
        national.write_exclusions(world, raw_dir, scale),
        national.write_ks4(world, raw_dir),
        *(generate_local_extracts(raw_dir, seed, scale=scale) if with_local else []),
        # The demo LA's SEN2 person-level return, aggregating to its figures in the release above.
        *([write_demo_return(raw_dir, release, DEMO_LA, DEMO_EXTRACT_DATE, seed)] if with_local else []),
        *([write_demo_targets(raw_dir)] if with_local else []),
    ]


# The demo owner's targets for the demo LA: invented, and labelled so on the scorecard (the project
# itself ships no targets; a real owner writes theirs from `send-scorecard targets-template`).
DEMO_TARGETS = (
    ("E08000007", "P1", "2024", "6.0", "1.0"),
    ("E08000007", "P1_sens", "2024", "7.0", "1.0"),
    ("E08000007", "E2", "202324", "10", "2.0"),
    ("E08000007", "E4", "202324", "16.0", "1.0"),
    ("E08000007", "E6", "202324", "-1.00", "0.10"),
    ("E08000007", "S11", "2024", "40", ""),
    ("E08000007", "S13_pct", "JAN2025", "6.0", "0.5"),
)


def write_demo_targets(raw_dir: Path) -> Path:
    """The demo's targets file, `targets/targets.csv` in the drop-zone."""
    path = Path(raw_dir) / "targets" / "targets.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["la_code,kpi_id,from_period,target,tolerance,set_by,agreed_on,note"]
    lines += [",".join((*row, "Demo owner (invented targets)", "2025-03-14", "Example target for the demo scorecard"))
              for row in DEMO_TARGETS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    """Command line: generate the demo data into OUT_DIR and list what was written."""
    parser = argparse.ArgumentParser(
        prog="python -m demo generate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("out_dir", type=Path, help="drop-zone to write into (e.g. data/raw)")
    parser.add_argument("--seed", type=int, default=20241, help="random seed (default 20241)")
    parser.add_argument("--scale", type=int, default=1, help="volume multiplier for benchmarks (default 1)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    written = generate_demo(args.out_dir, seed=args.seed, scale=args.scale)
    for path in written:
        print(f"{path.stat().st_size:>12,}  {path}")
    print(
        f"{len(written)} files in {time.perf_counter() - started:.1f}s (seed {args.seed}, scale {args.scale})"
    )


if __name__ == "__main__":
    main()
