"""How work is split over many devices: the :class:`Split` value and the candidate splits of a count."""

from __future__ import annotations

from collections.abc import Iterator

import attrs

_DEGREE = [attrs.validators.instance_of(int), attrs.validators.ge(1)]


@attrs.frozen
class Split:
    """How ``count`` devices share one workload: ``data`` replicas, each a ``pipeline`` of stages, each
    stage's layers split ``tensor`` ways, and experts spread ``expert`` ways.

    The devices used are ``data x tensor x pipeline x expert`` (expert parallelism is an axis of its
    own here: the experts of a mixture-of-experts layer spread over ``expert`` groups).
    """

    data: int = attrs.field(default=1, validator=_DEGREE)
    tensor: int = attrs.field(default=1, validator=_DEGREE)
    pipeline: int = attrs.field(default=1, validator=_DEGREE)
    expert: int = attrs.field(default=1, validator=_DEGREE)

    @property
    def count(self) -> int:
        """The devices this split uses."""
        return self.data * self.tensor * self.pipeline * self.expert

    def as_dict(self) -> dict[str, int]:
        """The JSON ``parallelism`` object: ``{"data": d, "tensor": t, "pipeline": p, "expert": e}``."""
        return {"data": self.data, "tensor": self.tensor, "pipeline": self.pipeline, "expert": self.expert}

    def __str__(self) -> str:
        return f"data {self.data} x tensor {self.tensor} x pipeline {self.pipeline}" + (
            f" x expert {self.expert}" if self.expert > 1 else "")


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def candidate_splits(count: int, *, tensor: int | None = None, pipeline: int | None = None,
                     expert: int | None = None, max_tensor: int | None = None,
                     max_pipeline: int | None = None, max_expert: int = 1, exact: bool = True) -> Iterator[Split]:
    """Every :class:`Split` of exactly ``count`` devices, data-parallel replicas making up the rest.

    ``tensor``, ``pipeline`` and ``expert`` fix that degree (named by a spec or the CLI); otherwise each
    ranges over the divisors of ``count`` up to ``max_tensor``, ``max_pipeline`` (e.g. the layers a
    network has) and ``max_expert`` (1 by default: no expert parallelism for dense models). Yields
    nothing when the fixed degrees do not divide ``count``. Order: fewest model-parallel devices first.

    ``exact=False`` also yields splits that leave devices idle: for each model-parallel group of
    ``tensor x pipeline x expert`` devices up to ``count``, as many data-parallel replicas as fit
    (``count // group``), so that more devices never offer fewer splits.
    """
    if count < 1:
        raise ValueError(f"a split needs at least one device, not {count}")
    degrees = _divisors(count) if exact else list(range(1, count + 1))
    splits = []
    for t in [tensor] if tensor else [d for d in degrees if max_tensor is None or d <= max_tensor]:
        for p in [pipeline] if pipeline else [d for d in degrees if max_pipeline is None or d <= max_pipeline]:
            for e in [expert] if expert else [d for d in degrees if d <= max_expert]:
                model_parallel = t * p * e
                if model_parallel <= count and (not exact or count % model_parallel == 0):
                    splits.append(Split(count // model_parallel, t, p, e))
    splits.sort(key=lambda s: (s.tensor * s.pipeline * s.expert, s.pipeline, s.expert))
    yield from splits
