"""Start-up time of the chipfit command against a bare Python, measured in the same run.

Prints the median and interquartile range of N runs of each command and its ratio to
``python -c pass``. Run: python benchmarks/startup.py [--runs N]
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
    args = parser.parse_args()
    chipfit = shutil.which("chipfit")
    entry = [chipfit] if chipfit else [sys.executable, "-m", "chipfit"]
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import chipfit'": [sys.executable, "-c", "import chipfit"],
        "chipfit --help": [*entry, "--help"],
        "chipfit devices": [*entry, "devices"],
        "chipfit run specs/seed-article.toml": [*entry, "run", "specs/seed-article.toml"],
    }
    reference = None
    print(f"{'command':40} {'median':>9} {'IQR':>9} {'x python':>9}   ({args.runs} runs each)")
    for name, command in commands.items():
        samples = timed(command, args.runs)
        median = statistics.median(samples)
        quartiles = statistics.quantiles(samples, n=4)
        reference = reference or median
        print(f"{name:40} {median * 1e3:7.1f}ms {(quartiles[2] - quartiles[0]) * 1e3:7.1f}ms {median / reference:8.1f}x")


if __name__ == "__main__":
    main()
