"""Collective communication costs and the many-device splits, by hand and as laws."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chipfit.model import (
    Split,
    all_gather_time,
    all_reduce_time,
    all_to_all_time,
    candidate_splits,
    point_to_point_time,
    reduce_scatter_time,
)


def test_ring_costs_by_hand():
    # 8 devices, 1 GB at 100 GB/s per direction, 5 µs per message
    assert all_reduce_time(1e9, 8, 1e11, 5e-6) == pytest.approx(2 * 7 / 8 * 0.01 + 14 * 5e-6)
    assert all_gather_time(1e9, 8, 1e11, 5e-6) == pytest.approx(7 / 8 * 0.01 + 7 * 5e-6)
    assert reduce_scatter_time(1e9, 8, 1e11, 5e-6) == all_gather_time(1e9, 8, 1e11, 5e-6)
    assert all_to_all_time(1e9, 8, 1e11, 5e-6) == pytest.approx(7 / 8 * 0.01 + 7 * 5e-6)
    assert point_to_point_time(1e9, 1e11, 5e-6) == pytest.approx(0.01 + 5e-6)


def test_one_device_communicates_nothing():
    for collective in (all_reduce_time, all_gather_time, reduce_scatter_time, all_to_all_time):
        assert collective(1e9, 1, 1e11) == 0.0


def test_a_collective_refuses_a_missing_bandwidth():
    with pytest.raises(ValueError, match="bandwidth"):
        all_reduce_time(1e9, 4, 0.0)
    with pytest.raises(ValueError, match="at least one device"):
        all_gather_time(1e9, 0, 1e11)


@given(st.floats(0, 1e12), st.integers(1, 64), st.floats(1e8, 1e13), st.floats(0, 1e-4))
def test_all_reduce_is_a_reduce_scatter_then_an_all_gather(size, count, bandwidth, latency):
    both = reduce_scatter_time(size, count, bandwidth, latency) + all_gather_time(size, count, bandwidth, latency)
    assert all_reduce_time(size, count, bandwidth, latency) == pytest.approx(both)


def test_split_counts_and_json():
    split = Split(data=2, tensor=4)
    assert split.count == 8
    assert split.as_dict() == {"data": 2, "tensor": 4, "pipeline": 1, "expert": 1}
    with pytest.raises((TypeError, ValueError)):
        Split(data=0)


@given(st.integers(1, 64))
def test_candidate_splits_use_exactly_the_devices(count):
    splits = list(candidate_splits(count))
    assert splits[0] == Split(data=count)
    assert all(split.count == count for split in splits)
    assert len(set(splits)) == len(splits)


def test_candidate_splits_honour_named_and_limited_degrees():
    assert {s.tensor for s in candidate_splits(8, tensor=2)} == {2}
    assert all(s.pipeline <= 2 for s in candidate_splits(8, max_pipeline=2))
    assert list(candidate_splits(8, tensor=3)) == []
    assert {s.expert for s in candidate_splits(8)} == {1}
