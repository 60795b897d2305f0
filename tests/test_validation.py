"""The error statistics both validations share."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chipfit.validation import signed_error, summarize


def test_signed_error_is_negative_when_low():
    assert signed_error(80.0, 100.0) == pytest.approx(-0.2)
    assert signed_error(150.0, 100.0) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        signed_error(1.0, 0.0)


def test_summary_by_hand():
    summary = summarize([(200.0, 100.0), (50.0, 100.0), (100.0, 100.0)])
    assert summary.count == 3
    # |ln 2|, |ln 0.5|, 0: mean 2 ln2 / 3
    assert summary.geomean_abs_error == pytest.approx(math.exp(2 * math.log(2) / 3) - 1)
    assert summary.median_abs_error == pytest.approx(0.5)
    assert summary.max_abs_error == pytest.approx(1.0)
    assert summary.worst_factor == pytest.approx(2.0)
    assert summary.bias == pytest.approx(0.0)
    assert set(summary.as_dict()) == {"count", "geomean_abs_error", "median_abs_error", "max_abs_error",
                                      "worst_factor", "bias"}


def test_no_rows_no_summary():
    assert summarize([]) is None


@given(st.lists(st.tuples(st.floats(1e-6, 1e6), st.floats(1e-6, 1e6)), min_size=1, max_size=30))
def test_a_high_and_a_low_model_count_alike(pairs):
    flipped = [(actual, predicted) for predicted, actual in pairs]
    assert summarize(pairs).geomean_abs_error == pytest.approx(summarize(flipped).geomean_abs_error, rel=1e-9)
    assert summarize(pairs).worst_factor >= 1.0
