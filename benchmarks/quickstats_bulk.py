"""Stream a synthetic Quick Stats bulk file: rows/s and peak memory, ours vs a whole read.

    python benchmarks/quickstats_bulk.py [--rows 5000000] [--folder /tmp/cropcast-bench]

Writes ``qs.crops_synthetic.txt.gz`` in the real bulk layout (39 upper-case columns, tab
separated, gzip) once, then runs, each in a fresh process so peak memory is its own:

- cropcast: ``read_quickstats`` streaming in chunks with the filters applied;
- reference: ``pandas.read_csv`` of the whole file (what a script without streaming does).

Like the real file, only a small share of rows are county corn-for-grain series; the rest
are other commodities and statistics.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from peak_memory import peak_mb

from cropcast.features.sources.quickstats import API_COLUMNS

API_KEYS = list(API_COLUMNS)
CORN_SERIES = ["CORN, GRAIN - YIELD, MEASURED IN BU / ACRE", "CORN, GRAIN - ACRES HARVESTED"]
OTHER_SERIES = ["WHEAT - ACRES PLANTED", "HAY - PRODUCTION, MEASURED IN TONS",
                "SOYBEANS - YIELD, MEASURED IN BU / ACRE",
                "CORN - PRICE RECEIVED, MEASURED IN $ / BU"]
CHUNK = 250_000


def generate(path: Path, rows: int, corn_share: float = 0.05, seed: int = 0) -> None:
    """Write ``rows`` synthetic bulk rows; ``corn_share`` of them county corn grain series."""
    rng = np.random.default_rng(seed)
    header = [("CV_%" if k == "CV (%)" else k.upper()) for k in API_KEYS]
    written = 0
    with gzip.open(path, "wt", compresslevel=1, newline="") as handle:
        handle.write("\t".join(header) + "\n")
        while written < rows:
            n = min(CHUNK, rows - written)
            corn = rng.random(n) < corn_share
            series = np.where(corn, rng.choice(CORN_SERIES, n), rng.choice(OTHER_SERIES, n))
            county = rng.integers(1, 200, n)
            year = rng.integers(1950, 2025, n)
            # Unique (series, county, year) keys for corn rows: spread over 50 states.
            state = rng.integers(1, 57, n)
            frame = pd.DataFrame({k: "" for k in API_KEYS}, index=range(n))
            frame["source_desc"] = "SURVEY"
            frame["commodity_desc"] = np.where(corn, "CORN", "OTHER")
            frame["short_desc"] = series
            frame["domain_desc"] = "TOTAL"
            frame["agg_level_desc"] = "COUNTY"
            frame["state_fips_code"] = np.char.zfill(state.astype(str), 2)
            frame["county_code"] = np.char.zfill(county.astype(str), 3)
            frame["county_name"] = "SOMEWHERE"
            frame["asd_code"] = "10"
            frame["year"] = year.astype(str)
            frame["freq_desc"] = "ANNUAL"
            frame["reference_period_desc"] = "YEAR"
            frame["load_time"] = "2024-02-23 15:00:00." + (written + np.arange(n)).astype(
                str).astype(object)
            frame["Value"] = [f"{v:,}" for v in rng.integers(1, 500_000, n)]
            frame.to_csv(handle, sep="\t", header=False, index=False)
            written += n


def _measure(mode: str, path: str) -> None:
    start = time.perf_counter()
    if mode == "cropcast":
        from cropcast.features.sources.quickstats import read_quickstats

        data = read_quickstats(path)
        kept = len(data.counties)
    else:
        kept = len(pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False))
    seconds = time.perf_counter() - start
    peak = peak_mb()
    print(json.dumps({"mode": mode, "seconds": seconds, "peak_mb": peak, "kept": kept}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/cropcast-bench"))
    parser.add_argument("--measure", choices=["cropcast", "reference"])
    parser.add_argument("--path")
    args = parser.parse_args()
    if args.measure:
        _measure(args.measure, args.path)
        return
    args.folder.mkdir(parents=True, exist_ok=True)
    path = args.folder / f"qs.crops_synthetic_{args.rows}.txt.gz"
    if not path.exists():
        start = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB gzipped) in "
              f"{time.perf_counter() - start:.0f} s")
    results = {}
    for mode in ("cropcast", "reference"):
        out = subprocess.run([sys.executable, __file__, "--measure", mode, "--path", str(path)],
                             capture_output=True, text=True, check=True)
        results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    ours, ref = results["cropcast"], results["reference"]
    print(f"{'':12}{'seconds':>10}{'rows/s':>14}{'peak MB':>10}")
    for name, r in (("cropcast", ours), ("pandas all", ref)):
        print(f"{name:12}{r['seconds']:>10.1f}{args.rows / r['seconds']:>14,.0f}"
              f"{r['peak_mb']:>10,.0f}")
    print(f"ratio cropcast/pandas: time {ours['seconds'] / ref['seconds']:.2f}, "
          f"peak memory {ours['peak_mb'] / ref['peak_mb']:.2f}; county-years kept: "
          f"{ours['kept']:,}")


if __name__ == "__main__":
    main()
