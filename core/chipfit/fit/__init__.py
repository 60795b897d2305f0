"""Which chip fits: every configuration (device x count x precision, the batch and split the model picks) of
one workload, the feasible ones ranked by an objective, the Pareto front of two, and why the rest fail.

Every configuration is modelled by the same path as ``chipfit estimate`` (the ``chipfit_estimate``
hook, then costs and derived metrics), so a ranked row and ``chipfit estimate DEVICE WORKLOAD
--scenario … --precision … --count …`` of the same configuration are equal. Modelled, never measured,
unless ``measure`` re-runs the top rows on devices this machine holds.
"""

from chipfit.fit.question import (
    DEFAULT_OBJECTIVE,
    FIT_KEYS,
    OBJECTIVES,
    Configuration,
    Constraint,
    FitQuery,
    describe_target,
)
from chipfit.fit.report import report
from chipfit.fit.search import (
    MAX_POINTS,
    FitResult,
    configurations,
    evaluator,
    fewest_devices,
    objective_key,
    pareto,
    rank,
    scenario_of,
    search,
    select_devices,
)

__all__ = ["DEFAULT_OBJECTIVE", "FIT_KEYS", "MAX_POINTS", "OBJECTIVES", "Configuration", "Constraint", "FitQuery",
           "FitResult", "configurations", "describe_target", "evaluator", "fewest_devices", "objective_key", "pareto", "rank",
           "report", "scenario_of", "search", "select_devices"]
