"""The --where / --sort language: parsing, units, errors, and laws (round trip, no traceback on any text)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipfit.query import (
    Compare,
    Junction,
    Literal,
    Name,
    Not,
    QueryError,
    parse_filter,
    parse_sort,
    sort_rows,
)

KNOWN = {"power_w", "latency_s", "meets_target", "hardware_cost_usd", "utilization", "throughput_sps", "device",
         "bound", "batch"}


def matches(text: str, values: dict) -> bool:
    return parse_filter(text, KNOWN).matches(values)


def test_conditions_and_units():
    row = {"power_w": 15.0, "latency_s": 0.004, "meets_target": True, "hardware_cost_usd": 1999.0,
           "utilization": 0.42, "device": "nvidia-l4", "bound": "memory"}
    assert matches("meets_target and power_w < 20", row)
    assert not matches("meets_target and power_w < 10", row)
    assert matches("latency_s < 5 ms", row) and not matches("latency_s < 3ms", row)
    assert matches("power_w <= 0.02 kW and hardware_cost_usd < $2000", row)
    assert matches("utilization > 40% and utilization < 50 %", row)
    assert matches("device == 'nvidia-l4' and bound = \"memory\"", row)
    assert matches("not (device != 'nvidia-l4' or power_w > 100)", row)
    assert matches("meets_target == true and not false", row)


def test_missing_metric_is_false_and_not_of_it_true():
    assert not matches("power_w < 20", {"latency_s": 1.0})
    assert matches("not power_w < 20", {"latency_s": 1.0})
    assert not matches("meets_target", {})
    assert not matches("device < 3", {"device": "x"})  # a string and a number do not compare


@pytest.mark.parametrize("text, says", [
    ("powr_w < 20", "unknown metric 'powr_w'; did you mean 'power_w'?"),
    ("latency_s < 3 W", "unit 'W' (power) does not fit metric 'latency_s' (time)"),
    ("power_w < 3 watts", "unknown unit 'watts'"),
    ("1 < 2 < 3", "comparisons do not chain"),
    ("(power_w < 3", "expected ')'"),
    ("power_w <", "expected a metric"),
    ("", "empty expression"),
    ("and", "not 'and'"),
    ("5", "alone is not a condition"),
    ("power_w < 3 junk", "unknown unit 'junk'"),
    ("meets_target junk", "unexpected 'junk'"),
    ("(power_w < 3 and meets_target) < 4", "a condition cannot be compared"),
    ("power_w < 1e999", "not a finite number"),
    ("power_w ~ 3", "unexpected '~'"),
])
def test_bad_filters_say_what_and_where(text, says):
    with pytest.raises(QueryError, match="--where") as error:
        parse_filter(text, KNOWN)
    assert says in str(error.value)


def test_sort_best_first_and_signs():
    rows = [{"latency_s": 3.0, "throughput_sps": 1.0}, {"latency_s": 1.0, "throughput_sps": 5.0},
            {"throughput_sps": 9.0}, {"latency_s": 2.0, "throughput_sps": 5.0}]
    better = {"latency_s": False, "throughput_sps": True}.get
    by_latency = sort_rows(rows, parse_sort("latency_s", KNOWN, better), dict)
    assert [row.get("latency_s") for row in by_latency] == [1.0, 2.0, 3.0, None]  # missing last
    assert [row.get("latency_s") for row in sort_rows(rows, parse_sort("-latency_s", KNOWN, better), dict)] == \
        [3.0, 2.0, 1.0, None]
    two = sort_rows(rows, parse_sort("throughput_sps, +latency_s", KNOWN, better), dict)
    assert [(row["throughput_sps"], row.get("latency_s")) for row in two] == [(9.0, None), (5.0, 1.0), (5.0, 2.0),
                                                                             (1.0, 3.0)]
    with pytest.raises(QueryError, match="unknown metric 'latncy_s'; did you mean 'latency_s'"):
        parse_sort("latncy_s", KNOWN, better)
    with pytest.raises(QueryError, match="empty key"):
        parse_sort("latency_s,,", KNOWN, better)


# -- laws ------------------------------------------------------------------------------------------

names = st.sampled_from(sorted(KNOWN)).map(Name)
numbers = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False).map(Literal)
strings = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-0123456789", max_size=8).map(Literal)
comparisons = st.builds(Compare, names, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
                        st.one_of(numbers, strings, st.booleans().map(Literal), names))
trees = st.recursive(
    st.one_of(comparisons, names),
    lambda inner: st.one_of(
        inner.map(Not),
        st.builds(lambda op, items: Junction(op, tuple(items)), st.sampled_from(["and", "or"]),
                  st.lists(inner, min_size=2, max_size=3)),
    ),
    max_leaves=8,
)


def _flat(node):
    """The tree as the parser builds it: nested junctions of one kind are one junction."""
    if isinstance(node, Junction):
        items = []
        for child in map(_flat, node.operands):
            items.extend(child.operands if isinstance(child, Junction) and child.op == node.op else [child])
        return Junction(node.op, tuple(items))
    if isinstance(node, Not):
        return Not(_flat(node.operand))
    return node


@settings(max_examples=300, deadline=None)
@given(trees)
def test_text_parses_back_to_the_same_tree(tree):
    assert parse_filter(tree.text(), KNOWN).tree == _flat(tree)


@settings(max_examples=300, deadline=None)
@given(trees, st.dictionaries(st.sampled_from(sorted(KNOWN)),
                              st.one_of(st.none(), st.floats(allow_nan=True), st.booleans(), st.text(max_size=3))))
def test_evaluating_never_raises(tree, row):
    assert parse_filter(tree.text(), KNOWN).matches(row) in (True, False)


_PIECES = st.sampled_from(["power_w", "latency_s", "meets_target", "and", "or", "not", "(", ")", "<", "<=", "==",
                           "=", "!=", ">", "3", "-2.5e3", "ms", "W", "%", "$", "'x'", '"', "true", "1e999", "µs",
                           "GB/s", "@", " "])


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(_PIECES, max_size=12).map(" ".join),
                 st.lists(_PIECES, max_size=12).map("".join)))
def test_any_text_parses_or_says_why(text):
    try:
        parsed = parse_filter(text, KNOWN)
    except QueryError as error:
        assert str(error).startswith("--where")
    else:
        assert parsed.matches({"power_w": 1.0}) in (True, False)


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(QueryError):
        parse_filter("(" * 5000 + "meets_target" + ")" * 5000, KNOWN)
    with pytest.raises(QueryError):
        parse_filter("not " * 5000 + "meets_target", KNOWN)
