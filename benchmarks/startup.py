"""Start-up time of the chipfit command against a bare Python, measured in the same run.

Prints the median and interquartile range of N runs of each command, its ratio to ``python -c pass``
and to the bare import of the libraries every command needs (pluggy, attrs, tabulate): the goal for
``chipfit --help`` and ``chipfit devices`` is at most 2x that import. Run:
python benchmarks/startup.py [--runs N] [--quick] (--quick skips the seed run).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def timed(command: list[str], runs: int) -> list[float]:
    """Wall-clock seconds of ``runs`` runs of a command (after one warm-up run)."""
    subprocess.run(command, check=True, capture_output=True)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    """Time the commands and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="skip the seed spec's run")
    args = parser.parse_args()
    chipfit = shutil.which("chipfit")
    entry = [chipfit] if chipfit else [sys.executable, "-m", "chipfit"]
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import pluggy, attrs, tabulate": [sys.executable, "-c", "import pluggy, attrs, tabulate"],
        "python -c 'import chipfit'": [sys.executable, "-c", "import chipfit"],
        "chipfit --help": [*entry, "--help"],
        "chipfit devices": [*entry, "devices"],
    }
    if not args.quick:
        commands["chipfit run specs/seed-article.toml"] = [*entry, "run", "specs/seed-article.toml"]
    python = libraries = None
    print(f"{'command':40} {'median':>9} {'IQR':>9} {'x python':>9} {'x libs':>7}   ({args.runs} runs each)")
    for name, command in commands.items():
        samples = timed(command, args.runs)
        median = statistics.median(samples)
        quartiles = statistics.quantiles(samples, n=4)
        python = python or median
        if name.startswith("import pluggy"):
            libraries = median
        against = f"{median / libraries:6.2f}x" if libraries else f"{'':7}"
        print(f"{name:40} {median * 1e3:7.1f}ms {(quartiles[2] - quartiles[0]) * 1e3:7.1f}ms "
              f"{median / python:8.1f}x {against}")


if __name__ == "__main__":
    main()
