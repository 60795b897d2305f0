"""Start-up time of the chipfit command against a bare Python, measured in the same run.

Prints the median and interquartile range of N runs of each command, its ratio to ``python -c pass``
and to the bare import of the libraries every command needs (pluggy, attrs, tabulate), in wall-clock
time and in CPU time (user + system), and the fastest run with its ratio (where other work shares the
machine, the fastest run is the one it slowed least, as :mod:`timeit` advises): the goal for
``chipfit --help`` and ``chipfit devices`` is at most 2x that import. Run:
python benchmarks/startup.py [--runs N] [--quick] (--quick skips the seed run).

The commands run with bytecode writing allowed (``PYTHONDONTWRITEBYTECODE`` is dropped from their
environment), so the warm-up run of each writes the ``.pyc`` files of an editable install's modules
(``__pycache__/``, ignored by git), as ``pip install .`` writes chipfit's: otherwise chipfit's own
modules would be compiled from source on every run while pluggy, attrs and tabulate load pip's
``.pyc``, and the ratio would compare unlike with unlike.

The warm-up run also fills a cache folder of the benchmark's own (``CHIPFIT_CACHE_DIR``, a temporary
folder, with the data folder, where the seed run records its run, inside it: the user's own are neither
read nor written; the datasheets read, kept by
:mod:`chipfit.textcache`), so the ``chipfit`` rows are every run after a user's first; the row
``chipfit devices (no cache)`` runs with a cache folder that cannot be made, as a read-only home does:
every datasheet parsed and checked each time. A true first run also writes the entries, which this row
does not, so it slightly understates a first run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def bytecode_environment(**changes: str) -> dict[str, str]:
    """This process's environment with bytecode writing allowed (``PYTHONDONTWRITEBYTECODE`` dropped), and ``changes``."""
    return {**{key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}, **changes}


def timed_once(command: list[str], environment: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one run of a command.

    CPU time is what the command itself spent; on a shared machine it moves less than wall-clock time,
    which also counts the time other processes held the cores.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=environment)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def timed(commands: dict[str, tuple[list[str], dict[str, str]]], runs: int) -> dict[str, tuple[list[float], list[float]]]:
    """Wall-clock and CPU seconds of ``runs`` runs of each command, after one warm-up run of each.

    The runs are interleaved (each round runs every command once), so a burst of other work on the
    machine slows every command of a round alike rather than all the runs of one, and the ratios hold.
    The warm-up run writes any missing ``.pyc`` (see the module docstring), so the timed runs load
    bytecode as an installed chipfit does.
    """
    for command, environment in commands.values():
        subprocess.run(command, check=True, capture_output=True, env=environment)
    samples: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in commands}
    for _ in range(runs):
        for name, (command, environment) in commands.items():
            wall, cpu = timed_once(command, environment)
            samples[name][0].append(wall)
            samples[name][1].append(cpu)
    return samples


def spread(samples: list[float]) -> tuple[float, float]:
    """Median and interquartile range."""
    quartiles = statistics.quantiles(samples, n=4)
    return statistics.median(samples), quartiles[2] - quartiles[0]


def main() -> None:
    """Time the commands and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="skip the seed spec's run")
    args = parser.parse_args()
    beside = Path(sys.executable).with_name("chipfit")  # this Python's own, before any on PATH
    chipfit = str(beside) if beside.exists() else shutil.which("chipfit")
    entry = [chipfit] if chipfit else [sys.executable, "-m", "chipfit"]
    blocker = tempfile.NamedTemporaryFile(prefix="chipfit-no-cache-")  # a file: no cache folder can be made under it
    cache = tempfile.TemporaryDirectory(prefix="chipfit-startup-cache-")  # the benchmark's own: not the user's
    usual = bytecode_environment(CHIPFIT_CACHE_DIR=cache.name, CHIPFIT_DATA_DIR=str(Path(cache.name) / "data"))
    no_cache = bytecode_environment(CHIPFIT_CACHE_DIR=str(Path(blocker.name) / "cache"))
    commands = {
        "python -c pass": ([sys.executable, "-c", "pass"], usual),
        "import pluggy, attrs, tabulate": ([sys.executable, "-c", "import pluggy, attrs, tabulate"], usual),
        "python -c 'import chipfit'": ([sys.executable, "-c", "import chipfit"], usual),
        "chipfit --help": ([*entry, "--help"], usual),
        "chipfit devices": ([*entry, "devices"], usual),
        "chipfit devices (no cache)": ([*entry, "devices"], no_cache),
    }
    if not args.quick:
        commands["chipfit run specs/seed-article.toml"] = ([*entry, "run", "specs/seed-article.toml"], usual)
    python = libraries = cpu_libraries = best_libraries = None
    print(f"{'command':34} {'median':>8} {'IQR':>7} {'x python':>8} {'x libs':>7} {'cpu':>8} {'IQR':>7} "
          f"{'x libs':>7} {'best':>8} {'x libs':>7}   ({args.runs} runs each, interleaved; cpu = user + system; "
          "best = fastest run)")
    for name, (wall, cpu) in timed(commands, args.runs).items():
        (median, iqr), (cpu_median, cpu_iqr), best = spread(wall), spread(cpu), min(wall)
        python = python or median
        if name.startswith("import pluggy"):
            libraries, cpu_libraries, best_libraries = median, cpu_median, best
        against = f"{median / libraries:6.2f}x" if libraries else f"{'':7}"
        cpu_against = f"{cpu_median / cpu_libraries:6.2f}x" if cpu_libraries else f"{'':7}"
        best_against = f"{best / best_libraries:6.2f}x" if best_libraries else f"{'':7}"
        print(f"{name:34} {median * 1e3:6.1f}ms {iqr * 1e3:5.1f}ms {median / python:7.1f}x {against} "
              f"{cpu_median * 1e3:6.1f}ms {cpu_iqr * 1e3:5.1f}ms {cpu_against} {best * 1e3:6.1f}ms {best_against}")

if __name__ == "__main__":
    main()
