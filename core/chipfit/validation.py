"""Error statistics for a model against reference figures (published results, or measured runs).

One module serves both validations (``chipfit validate --published`` and the measured ``validate``):

- the **signed error** of a row is ``(predicted - actual) / actual`` (negative: the model is low);
- the **geometric-mean absolute error** is ``exp(mean |ln(predicted / actual)|) - 1``: a model 2x high
  and one 2x low count alike (both 100%), unlike the arithmetic mean of signed errors;
- the **median** and **maximum absolute error** are those of ``|signed error|``;
- the **worst factor** is the largest ``max(predicted / actual, actual / predicted)`` (2.0: off by 2x);
- the **bias** is ``exp(mean ln(predicted / actual)) - 1``: the typical direction and size of the
  error (negative: the model is pessimistic).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable

import attrs


def signed_error(predicted: float, actual: float) -> float:
    """``(predicted - actual) / actual``: negative when the model is low. ``actual`` must be positive."""
    if not actual > 0:
        raise ValueError(f"an error needs a positive reference figure, not {actual!r}")
    return (predicted - actual) / actual


def _log_ratio(predicted: float, actual: float) -> float:
    if not predicted > 0 or not actual > 0:
        raise ValueError(f"a log ratio needs positive figures, not {predicted!r} and {actual!r}")
    return math.log(predicted / actual)


@attrs.frozen
class ErrorSummary:
    """The error of ``count`` predictions against their reference figures (definitions in the module)."""

    count: int
    geomean_abs_error: float
    median_abs_error: float
    max_abs_error: float
    worst_factor: float
    bias: float

    def as_dict(self) -> dict[str, float | int]:
        """The summary as the JSON object ``validate --format json`` prints."""
        return attrs.asdict(self)


def summarize(pairs: Iterable[tuple[float, float]]) -> ErrorSummary | None:
    """The :class:`ErrorSummary` of ``(predicted, actual)`` pairs, all positive; None for no pairs."""
    pairs = list(pairs)
    if not pairs:
        return None
    logs = [_log_ratio(predicted, actual) for predicted, actual in pairs]
    absolute = [abs(signed_error(predicted, actual)) for predicted, actual in pairs]
    return ErrorSummary(
        count=len(pairs),
        geomean_abs_error=math.exp(statistics.fmean(abs(x) for x in logs)) - 1,
        median_abs_error=statistics.median(absolute),
        max_abs_error=max(absolute),
        worst_factor=math.exp(max(abs(x) for x in logs)),
        bias=math.exp(statistics.fmean(logs)) - 1,
    )
