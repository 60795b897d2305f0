"""What the run session costs over the bare runner: seconds to run the seed spec through ``runner.run``
(nothing recorded), through ``Session.plan`` alone, and through a recording ``Session`` (the results store
written row by row, then the final report), measured in the same run.

Prints the median and spread of the repeats of each and its ratio to ``runner.run``'s median. The store is a
temporary file, never the user's. Run: python benchmarks/session.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from chipfit import runner, spec
from chipfit.catalogue import collect
from chipfit.plugins import get_plugin_manager
from chipfit.run import Session

SEED = Path(__file__).resolve().parent.parent / "specs" / "seed-article.toml"


def timed(job, repeats: int) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls of ``job`` (after one warm-up call)."""
    job()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        job()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    """Time the three ways of running the seed spec and print them against the bare runner."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    pm = get_plugin_manager()
    catalogue = collect(pm)
    parsed, text = spec.load(SEED)
    with tempfile.TemporaryDirectory() as folder:
        session = Session(pm, catalogue, store=Path(folder) / "runs.sqlite")
        jobs = {
            "runner.run (no store)": lambda: runner.run(parsed, catalogue, pm, text=text, where=str(SEED)),
            "Session.plan (resolution only)": lambda: session.plan(parsed, text=text, where=str(SEED)),
            "Session.run (recorded)": lambda: session.run(parsed, text=text, where=str(SEED), command="benchmark"),
        }
        rows = len(runner.run(parsed, catalogue, pm, text=text, where=str(SEED)).rows)
        results = {name: timed(job, args.repeats) for name, job in jobs.items()}
    reference = statistics.median(results["runner.run (no store)"])
    print(f"seed spec ({rows} rows), {args.repeats} repeats each")
    for name, samples in results.items():
        median = statistics.median(samples)
        print(f"  {name:32s} median {median * 1e3:8.1f} ms  (min {min(samples) * 1e3:.1f}, max "
              f"{max(samples) * 1e3:.1f})  x{median / reference:.2f} of runner.run")


if __name__ == "__main__":
    main()
