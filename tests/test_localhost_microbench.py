"""chipfit_localhost.microbench: GEMM and STREAM on this CPU (tiny sizes), GPU benches when CUDA exists.

No test asserts speed: only that rates are positive and the work is counted right.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from chipfit_localhost import microbench
from chipfit_localhost.microbench import (
    BenchResult,
    Unsupported,
    cuda_available,
    default_gemm_n,
    gemm,
    gpu_gemm,
    gpu_stream,
    run_all,
    stream,
)
from chipfit_localhost.timing import Samples

CUDA = cuda_available()


@pytest.mark.parametrize("precision", ["fp32", "fp64"])
def test_numpy_gemm_counts_2n3(precision):
    result = gemm(precision, 64, budget_s=0.05, verify=True)
    assert result.name == f"gemm-{precision}" and result.backend == "numpy"
    assert result.unit == "ops/s" and result.size == 64
    assert result.work == 2 * 64**3
    assert result.rate > 0 and result.rate == pytest.approx(result.work / result.samples.median)
    assert result.threads >= 1 and result.samples.n >= 5
    low, high = result.rate_ci
    assert low <= result.rate <= high
    json.dumps(result.to_dict(raw=True))


@pytest.mark.parametrize("precision", ["int8", "fp16"])
def test_onnxruntime_gemm_works_or_is_unsupported(precision):
    try:
        result = gemm(precision, 64, budget_s=0.05, verify=True)
    except Unsupported as error:
        assert precision in str(error)
        return
    assert result.backend == "onnxruntime" and result.rate > 0 and result.work == 2 * 64**3
    assert result.threads >= 1


def test_onnxruntime_fp32_backend():
    result = gemm("fp32", 64, budget_s=0.05, backend="onnxruntime", threads=1, verify=True)
    assert result.backend == "onnxruntime" and result.threads == 1


def test_gemm_unsupported_combinations():
    with pytest.raises(Unsupported):
        gemm("int4", 64)
    with pytest.raises(Unsupported, match="NumPy"):
        gemm("int8", 64, backend="numpy")
    with pytest.raises(Unsupported):
        gemm("fp32", 64, backend="tpu")


def test_default_gemm_n_is_a_sane_multiple():
    for precision in ("fp32", "fp64", "int8", "fp16"):
        n = default_gemm_n(precision)
        assert 256 <= n <= 4096 and n % 256 == 0


@pytest.mark.parametrize("threads", [1, 2])
def test_stream_triad_counts_three_arrays(threads):
    n = 2**16
    result = stream("triad", n, budget_s=0.05, threads=threads)
    assert result.name == "stream-triad" and result.unit == "B/s" and result.size == n
    assert result.work == 3 * 8 * n and result.threads == threads
    assert result.rate == pytest.approx(result.work / result.samples.median) and result.rate > 0


@pytest.mark.parametrize("kind, expected", [("copy", lambda b, c: b), ("scale", lambda b, c: 3.0 * b),
                                            ("add", lambda b, c: b + c), ("triad", lambda b, c: b + 3.0 * c)])
def test_each_stream_kernel_computes_what_stream_defines(kind, expected):
    rng = np.random.default_rng(1)
    n = 3 * microbench._TRIAD_CHUNK + 17  # triad's chunks, and a short last one
    b, c = rng.standard_normal(n), rng.standard_normal(n)
    a = np.zeros(n)
    microbench._stream_kernel(kind, 3.0)(a, b, c, np.empty(microbench._TRIAD_CHUNK))
    assert np.allclose(a, expected(b, c))


@pytest.mark.parametrize("kind, arrays", sorted(microbench.STREAM_KERNELS.items()))
def test_stream_counts_the_arrays_stream_counts(kind, arrays):
    result = stream(kind, 2**16, budget_s=0.02, threads=2)
    assert result.work == arrays * 8 * 2**16 and "one pass" in result.notes


def test_stream_copy_counts_two_arrays():
    n = 2**16
    result = stream("copy", n, budget_s=0.05)
    assert result.name == "stream-copy" and result.work == 2 * 8 * n and result.rate > 0


def test_stream_default_size_is_four_times_the_cache():
    result = stream("copy", budget_s=0.01, cache_bytes=2**18)
    assert result.size == max(4 * 2**18 // 8, 2**20)
    with pytest.raises(Unsupported):
        stream("bogus", 1024)


@pytest.mark.skipif(CUDA, reason="CUDA is available here")
def test_gpu_benches_unsupported_without_cuda():
    with pytest.raises(Unsupported):
        gpu_gemm("bf16", 256, budget_s=0.05)
    with pytest.raises(Unsupported):
        gpu_stream(2**20, budget_s=0.05)


@pytest.mark.skipif(not CUDA, reason="needs PyTorch with CUDA")
@pytest.mark.parametrize("precision", ["bf16", "fp16", "tf32", "fp32"])
def test_gpu_gemm(precision):
    result = gpu_gemm(precision, 512, budget_s=0.2)
    assert result.backend == "torch-cuda" and result.rate > 0 and result.work == 2 * 512**3


@pytest.mark.skipif(not CUDA, reason="needs PyTorch with CUDA")
def test_gpu_stream_and_sync_timer():
    result = gpu_stream(2**22, budget_s=0.2)
    assert result.work == 2 * 4 * 2**22 and result.rate > 0
    assert gpu_gemm("bf16", 512, budget_s=0.2, timer="sync").rate > 0


def test_run_all_skips_unsupported(monkeypatch):
    fake = BenchResult(name="x", rate=1.0, unit="ops/s", size=1, samples=Samples([1.0]), backend="numpy")

    def fake_gemm(precision, **kwargs):
        if precision in ("int8", "fp16"):
            raise Unsupported("no kernel")
        return attrs_evolve(fake, name=f"gemm-{precision}")

    monkeypatch.setattr(microbench, "gemm", fake_gemm)
    monkeypatch.setattr(microbench, "stream", lambda kind, **kw: attrs_evolve(fake, name=f"stream-{kind}"))
    names = [r.name for r in run_all(budget_s=0.01, gpu=False)]
    assert names == ["gemm-fp32", "gemm-fp64", "stream-copy", "stream-scale", "stream-add", "stream-triad"]


def attrs_evolve(result, **changes):
    import attrs

    return attrs.evolve(result, **changes)
