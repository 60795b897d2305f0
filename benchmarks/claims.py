"""How the cost of a spec's claims grows with their count: seconds to load and run a spec with N claims.

Each claim compares the two cells of one small group (two GPUs on a GEMM), so the cells stay the same
and only the claims grow. Prints, per count, the median and spread of the repeats and the ratio to the
smallest count's median, measured in the same run: linear growth doubles the time when the count doubles.
Run: python benchmarks/claims.py [--counts 1000 2000 4000] [--repeats 3]
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

_HEAD = """title = "claims benchmark"

[[groups]]
id = "g"
devices = ["nvidia-h100-sxm5", "amd-instinct-mi250x"]
workloads = ["gemm-4096"]
scenario = "offline"
"""

_CLAIM = """
[[claims]]
text = "claim {index}: the H100 against the MI250X on throughput"
expected = {expected}
cell = {{ group = "g", device = "nvidia-h100-sxm5", workload = "gemm-4096" }}
versus = {{ group = "g", device = "amd-instinct-mi250x", workload = "gemm-4096" }}
value = "throughput_sps / versus.throughput_sps"
"""


def spec_text(count: int) -> str:
    """A spec with ``count`` claims over one group."""
    return _HEAD + "".join(_CLAIM.format(index=index, expected=1 + index % 7) for index in range(count))


def seconds(path: Path, pm, catalogue) -> float:
    """Wall-clock seconds to load the spec and run it (cells, claims)."""
    start = time.perf_counter()
    parsed, text = spec.load(path)
    report = runner.run(parsed, catalogue, pm, text=text, where=str(path))
    elapsed = time.perf_counter() - start
    assert len(report.claims) == len(parsed.claims)
    return elapsed


def main() -> None:
    """Time each count and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 2000, 4000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    pm = get_plugin_manager()
    catalogue = collect(pm)
    medians = {}
    print(f"{'claims':>7}  {'median s':>9}  {'min s':>7}  {'max s':>7}  {'ratio':>6}")
    with tempfile.TemporaryDirectory() as folder:
        warm = Path(folder) / "warm-up.toml"  # the first run pays for loading the plugins' catalogues
        warm.write_text(spec_text(10), encoding="utf-8")
        seconds(warm, pm, catalogue)
        for count in args.counts:
            path = Path(folder) / f"claims-{count}.toml"
            path.write_text(spec_text(count), encoding="utf-8")
            samples = [seconds(path, pm, catalogue) for _ in range(args.repeats)]
            medians[count] = statistics.median(samples)
            ratio = medians[count] / medians[args.counts[0]]
            print(f"{count:>7}  {medians[count]:>9.3f}  {min(samples):>7.3f}  {max(samples):>7.3f}  {ratio:>6.2f}")


if __name__ == "__main__":
    main()
