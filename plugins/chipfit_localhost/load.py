"""How busy this machine was while something was measured: load average, and CPU time stolen or used by others.

A measured row is only as good as the machine was quiet. :class:`LoadWatch` reads the OS's counters
before and after a measurement (Linux ``/proc/stat`` and ``/proc/loadavg``; ``os.getloadavg`` elsewhere,
where there is no steal counter) and :meth:`LoadWatch.stop` returns what they show:

- ``load_1m``: the 1-minute load average at the end (runnable tasks, the measurement's own included);
- ``cores``: the logical CPUs this process may use;
- ``steal``: the fraction of CPU time the hypervisor gave to other guests (``steal`` in /proc/stat);
  None where the OS does not show it;
- ``busy``: the fraction of all CPU time that was not idle (the measurement's own work included).

:func:`is_high` says when that load is worth a warning: a load average above
:data:`HIGH_LOAD_PER_CORE` per core (more runnable tasks than the measurement's threads alone would
make), or steal above :data:`HIGH_STEAL`.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Load average per usable core above which a measurement is flagged: the measurement alone keeps
#: about one runnable thread per core, so above 1.5 others were competing for the cores.
HIGH_LOAD_PER_CORE = 1.5

#: Steal time (fraction of CPU time the hypervisor ran other guests) above which a measurement is flagged.
HIGH_STEAL = 0.05

_PROC_STAT = Path("/proc/stat")


def _cpu_times() -> list[int] | None:
    """The aggregate ``cpu`` line of /proc/stat (user nice system idle iowait irq softirq steal ...)."""
    try:
        first = _PROC_STAT.read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if not first or first[0] != "cpu":
        return None
    try:
        return [int(value) for value in first[1:]]
    except ValueError:
        return None


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def load_average() -> float | None:
    """The 1-minute load average, or None where the OS has none."""
    try:
        return float(os.getloadavg()[0])
    except (OSError, AttributeError):
        return None


class LoadWatch:
    """Counters read at :meth:`start` and at :meth:`stop`; the difference is the load during the measurement."""

    def __init__(self) -> None:
        self._before: list[int] | None = None

    def start(self) -> LoadWatch:
        """Read the counters now; returns self."""
        self._before = _cpu_times()
        return self

    def stop(self) -> dict:
        """The load since :meth:`start` (JSON-ready; keys in the module's docstring)."""
        after = _cpu_times()
        steal = busy = None
        if self._before and after and len(after) == len(self._before):
            delta = [b - a for a, b in zip(self._before, after)]
            total = sum(delta[:8]) if len(delta) >= 8 else sum(delta)
            if total > 0:
                idle = delta[3] + (delta[4] if len(delta) > 4 else 0)
                busy = 1.0 - idle / total
                steal = delta[7] / total if len(delta) >= 8 else None
        return {"load_1m": load_average(), "cores": _cores(), "steal": steal, "busy": busy}


def is_high(load: dict | None) -> bool:
    """Whether a :meth:`LoadWatch.stop` record shows a machine too busy for a clean measurement."""
    if not load:
        return False
    per_core = (load.get("load_1m") or 0.0) / max(1, load.get("cores") or 1)
    return per_core > HIGH_LOAD_PER_CORE or (load.get("steal") or 0.0) > HIGH_STEAL


def describe(load: dict | None) -> str:
    """One line: 'load 4.9 on 2 cores, steal 3%, CPU 98% busy'."""
    if not load:
        return "machine load unknown"
    parts = []
    if load.get("load_1m") is not None:
        parts.append(f"load {load['load_1m']:.2g} on {load['cores']} cores")
    if load.get("steal") is not None:
        parts.append(f"steal {load['steal']:.0%}")
    if load.get("busy") is not None:
        parts.append(f"CPU {load['busy']:.0%} busy")
    return ", ".join(parts) or "machine load unknown"
