"""A measurement harness: warm-up, calibrated blocks, many replicates, median and its CI, adaptive stop.

What it takes from the best harnesses (pyperf's documentation, https://pyperf.readthedocs.io ; PyTorch's
``torch.utils.benchmark`` documentation, https://pytorch.org/docs/stable/benchmark_utils.html):

- warm-up calls before anything is timed (caches, page faults, lazy initialisation, JIT);
- blocks: a sample times ``block`` back-to-back calls, the block grown until it lasts at least
  ``min_block_s`` so the clock's resolution and the cost of reading it vanish (torch.utils.benchmark's
  ``blocked_autorange``); a sample is the block's time divided by its size;
- many replicates, summarised by the median and the IQR and the p10/p90/p99, never by dropping
  outliers; a coefficient of variation over 10% marks the result ``unstable`` (pyperf warns the same);
- an adaptive stop: sampling ends once the 95% confidence interval of the median is within
  ``±target_ci`` of it, or when the time budget is spent (``adaptive_autorange``);
- the garbage collector is off inside each timed block (as :mod:`timeit` does);
- ``sync`` is called before each clock read, so asynchronous devices (CUDA) are timed to completion.

Not done here: spawning worker processes (pyperf) and pinning threads; callers that need them run
:func:`measure` in a child process. Raw samples are kept in :class:`Samples` for later comparison.
"""

from __future__ import annotations

import bisect
import functools
import gc
import math
import statistics
import time
from collections.abc import Callable

import attrs

#: A coefficient of variation above this marks a result unstable.
UNSTABLE_CV = 0.10


@functools.lru_cache(maxsize=4096)
def _median_ci_rank(n: int, confidence: float) -> int:
    """The 1-based rank j of the lower bound of the median's CI: [x_(j), x_(n+1-j)]; 0 if none.

    j is the largest rank with P(B <= j - 1) <= (1 - confidence) / 2, B ~ Binomial(n, 1/2): the
    number of samples below the true median is B, so the interval misses the median with
    probability 2 P(B <= j - 1) <= 1 - confidence, whatever the distribution (continuous).
    """
    alpha_half = (1.0 - confidence) / 2.0
    if n > 3000:  # normal approximation to the binomial, with continuity correction
        z = statistics.NormalDist().inv_cdf(1.0 - alpha_half)
        return max(0, math.floor(n / 2.0 - z * math.sqrt(n) / 2.0 + 0.5))
    total = 2**n
    cumulative = 0
    j = 0
    for k in range(n // 2 + 1):
        cumulative += math.comb(n, k)  # P(B <= k) = cumulative / 2**n
        if cumulative / total > alpha_half:
            break
        j = k + 1
    return j


def _quantile(ordered: tuple[float, ...], q: float) -> float:
    """Linear-interpolation quantile of sorted data (numpy's default 'linear' method)."""
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@attrs.frozen
class Samples:
    """Per-call times in seconds, one per timed block (block time / block size).

    ``block`` is the calls per sample; ``stop`` why sampling ended ('ci', 'budget', 'max_samples');
    ``elapsed_s`` the wall time :func:`measure` took, warm-up and calibration included.
    """

    seconds: tuple[float, ...] = attrs.field(converter=tuple)
    block: int = 1
    stop: str = ""
    elapsed_s: float = 0.0
    _sorted: tuple[float, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_sorted", tuple(sorted(self.seconds)))

    @property
    def n(self) -> int:
        return len(self.seconds)

    def quantile(self, q: float) -> float:
        """The q-quantile (0..1), linear interpolation between order statistics."""
        return _quantile(self._sorted, q)

    @property
    def median(self) -> float:
        return self.quantile(0.5)

    @property
    def p10(self) -> float:
        return self.quantile(0.10)

    @property
    def p90(self) -> float:
        return self.quantile(0.90)

    @property
    def p99(self) -> float:
        return self.quantile(0.99)

    @property
    def min(self) -> float:
        return self._sorted[0] if self._sorted else math.nan

    @property
    def mean(self) -> float:
        return statistics.fmean(self.seconds) if self.seconds else math.nan

    @property
    def stdev(self) -> float:
        """Sample standard deviation (n - 1); 0 for fewer than two samples."""
        return statistics.stdev(self.seconds) if len(self.seconds) > 1 else 0.0

    @property
    def cv(self) -> float:
        """Coefficient of variation, stdev / mean."""
        mean = self.mean
        return self.stdev / mean if mean else math.nan

    @property
    def iqr(self) -> float:
        """Interquartile range, p75 - p25."""
        return self.quantile(0.75) - self.quantile(0.25)

    @property
    def unstable(self) -> bool:
        """True when the CV exceeds 10%: the machine was busy, throttling or the call varies."""
        return bool(self.cv > UNSTABLE_CV)

    def median_ci(self, confidence: float = 0.95) -> tuple[float, float]:
        """Distribution-free confidence interval of the median from order statistics.

        With the samples sorted x_(1) <= ... <= x_(n), the interval is [x_(j), x_(n+1-j)] for the
        largest j with P(B <= j - 1) <= (1 - confidence) / 2 where B ~ Binomial(n, 1/2); it holds
        the true median with probability >= ``confidence`` for any continuous distribution (no
        normality assumed). Below the n where such a j exists (n < 6 at 95%) the interval is
        [min, max], whose coverage 1 - 2^(1-n) is then less than asked.
        """
        if not self._sorted:
            return (math.nan, math.nan)
        j = _median_ci_rank(len(self._sorted), confidence)
        if j < 1:
            return (self._sorted[0], self._sorted[-1])
        return (self._sorted[j - 1], self._sorted[len(self._sorted) - j])

    def summary(self) -> dict:
        """JSON-ready statistics (seconds)."""
        low, high = self.median_ci(0.95)
        return {
            "n": self.n,
            "block": self.block,
            "median_s": self.median,
            "p10_s": self.p10,
            "p90_s": self.p90,
            "p99_s": self.p99,
            "min_s": self.min,
            "mean_s": self.mean,
            "stdev_s": self.stdev,
            "cv": self.cv,
            "iqr_s": self.iqr,
            "median_ci95_s": [low, high],
            "unstable": self.unstable,
            "stop": self.stop,
            "elapsed_s": self.elapsed_s,
        }


def _ci_within(ordered: list[float], target: float, confidence: float) -> bool:
    """True when the median's CI lies within ±target (relative) of the median."""
    n = len(ordered)
    median = _quantile(ordered, 0.5)  # type: ignore[arg-type]
    if not median > 0:
        return False
    j = _median_ci_rank(n, confidence)
    low, high = (ordered[0], ordered[-1]) if j < 1 else (ordered[j - 1], ordered[n - j])
    return max(median - low, high - median) <= target * median


def measure(
    call: Callable[[], object],
    *,
    budget_s: float = 2.0,
    min_samples: int = 5,
    max_samples: int = 1000,
    target_ci: float = 0.02,
    warmup: int = 1,
    min_block_s: float = 1e-3,
    sync: Callable[[], None] | None = None,
    confidence: float = 0.95,
    disable_gc: bool = True,
) -> Samples:
    """Time ``call`` and return per-call samples.

    1. Warm up: ``warmup`` untimed calls.
    2. Calibrate: time blocks of 1, then more calls, growing the block (by the ratio that the last
       block fell short, at least 2x) until a block lasts ``min_block_s``; timer overhead is then
       negligible. The final calibration block is kept as the first sample when it was warm.
    3. Sample: time blocks until, after ``min_samples``, the ``confidence`` CI of the median is
       within ±``target_ci`` of the median (``target_ci`` 0 disables this), or ``budget_s``
       (counted from the start, warm-up included) is spent, or ``max_samples`` are taken.

    Never fewer than ``min_samples`` samples even past the budget, unless one call alone takes
    longer than the budget: then ``min(min_samples, 3)``. ``sync`` (e.g. ``torch.cuda.synchronize``)
    is called before each clock read. The clock is :func:`time.perf_counter`.
    """
    if min_samples < 1 or max_samples < 1:
        raise ValueError("measure(): min_samples and max_samples must be >= 1")
    clock = time.perf_counter
    started = clock()
    gc_was_enabled = gc.isenabled()

    def timed(calls: int) -> float:
        if disable_gc:
            gc.disable()
        try:
            if sync is not None:
                sync()
            t0 = clock()
            for _ in range(calls):
                call()
            if sync is not None:
                sync()
            return clock() - t0
        finally:
            if disable_gc and gc_was_enabled:
                gc.enable()

    for _ in range(warmup):
        call()
    if warmup and sync is not None:
        sync()

    block = 1
    first_call = warmup == 0
    while True:
        elapsed = timed(block)
        if elapsed >= min_block_s:
            break
        factor = 10 if elapsed <= 0 else math.ceil(1.2 * min_block_s / elapsed)
        block *= max(2, min(factor, 1000))
        first_call = False

    per_call = elapsed / block
    floor = min_samples if per_call <= budget_s else min(min_samples, 3)
    ordered: list[float] = []
    seconds: list[float] = []
    if not first_call:
        seconds.append(per_call)
        ordered.append(per_call)

    stop = "max_samples"
    while len(seconds) < max_samples:
        if len(seconds) >= floor:
            if len(seconds) >= min_samples and target_ci and _ci_within(ordered, target_ci, confidence):
                stop = "ci"
                break
            if clock() - started >= budget_s:
                stop = "budget"
                break
        sample = timed(block) / block
        seconds.append(sample)
        bisect.insort(ordered, sample)
    return Samples(tuple(seconds), block=block, stop=stop, elapsed_s=clock() - started)
