"""What the wire format costs: a report of N rows through chipfit.serialize, against the JSON text alone.

Measured in the same run: ``unstructure`` (records to data) and ``structure`` (data to records,
every field checked and frozen), each against ``json.dumps``/``json.loads`` of the same data (the
floor any JSON format pays); then the results store's save and read of the report.
Run: python benchmarks/serialize.py [--rows N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from chipfit import serialize
from chipfit.records import Report, Result, Scenario
from chipfit.store import Store


def report(rows: int) -> Report:
    """A report like a sweep's: modelled rows with a dozen metrics and a few lines of arithmetic each."""
    scenario = Scenario("offline", batch=8, precision="int8")
    metrics = {"latency_s": 0.01, "throughput_sps": 800.0, "ops_total": 6.6e10, "utilization": 0.4, "bound": "compute",
               "power_w": 300.0, "energy_j": 3.0, "samples_per_j": 2.7, "batch": 8, "count": 1, "meets_target": True,
               "vs_baseline": 1.5}
    return Report("bench", [Result(f"acme-{index}", "yolov3-416", scenario, "modelled", "ok",
                                   {**metrics, "latency_s": 0.01 + index * 1e-6},
                                   explain=("step one", "step two", "step three"), group="g", plugin="acme")
                            for index in range(rows)], spec={"groups": [{"id": "g"}]}, environment={"host": "h"})


def best(action, repeat: int = 5) -> float:
    """The fastest of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    """Print each step's time per row and its ratio to the JSON text of the same data."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    rows = parser.parse_args().rows
    record = report(rows)
    data = serialize.unstructure(record)
    text = json.dumps(data)
    serialize.structure(data, Report, where="warm-up")
    dumps, loads = best(lambda: json.dumps(data)), best(lambda: json.loads(text))
    out = best(lambda: serialize.unstructure(record))
    back = best(lambda: serialize.structure(data, Report, where="bench"))
    print(f"{rows} rows")
    print(f"  unstructure  {out / rows * 1e6:7.2f} us/row   {out / dumps:5.2f}x json.dumps of the same data "
          f"({dumps / rows * 1e6:.2f} us/row)")
    print(f"  structure    {back / rows * 1e6:7.2f} us/row   {back / loads:5.2f}x json.loads of the same text "
          f"({loads / rows * 1e6:.2f} us/row)")
    with tempfile.TemporaryDirectory() as folder:
        with Store(Path(folder) / "runs.sqlite") as store:
            saved = best(lambda: store.save(record, command="bench"), repeat=3)
            read = best(lambda: store.report("latest"), repeat=3)
    print(f"  store save   {saved / rows * 1e6:7.2f} us/row   {saved / (out + dumps):5.2f}x unstructure + json.dumps")
    print(f"  store read   {read / rows * 1e6:7.2f} us/row   {read / (back + loads):5.2f}x json.loads + structure")


if __name__ == "__main__":
    main()
