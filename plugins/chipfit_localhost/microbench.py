"""Sustained compute (GEMM) and memory bandwidth (STREAM) of this machine's CPU, and of a CUDA GPU.

These figures calibrate the roofline model: GEMM gives the ops/s the vector units sustain per
precision, STREAM the bytes/s the memory sustains. Every result keeps its raw samples.

CPU: fp32/fp64 GEMM through NumPy (its BLAS: OpenBLAS, MKL or Accelerate), int8 and fp16 GEMM
through ONNX Runtime's CPU execution provider (MatMulInteger, MatMul), STREAM copy and triad with
NumPy ufuncs run by one thread per usable core (NumPy releases the GIL inside ufuncs); STREAM's four
kernels (copy, scale, add, triad), one pass each, counted by the bytes STREAM counts.
GPU: GEMM and device-to-device copy through PyTorch on CUDA, each call timed by its own pair of
CUDA events with the L2 cache flushed between calls (triton's ``do_bench`` method).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import attrs
import numpy as np

from chipfit_localhost.detect import _find_spec, compute_cores, cpu_peaks, detect_cpu
from chipfit_localhost.timing import Samples, _ci_within, measure

__all__ = [
    "BenchResult", "Unsupported", "gemm", "stream", "gpu_gemm", "gpu_stream", "run_all",
    "cuda_available", "GEMM_PRECISIONS", "GPU_GEMM_PRECISIONS",
]

GEMM_PRECISIONS = ("fp32", "fp64", "int8", "fp16")
GPU_GEMM_PRECISIONS = ("bf16", "fp16", "tf32", "fp32", "int8")


class Unsupported(Exception):
    """This benchmark cannot run here (no such kernel, runtime or device); the message says why."""


@attrs.frozen
class BenchResult:
    """One benchmark's sustained rate, from the median per-call time.

    ``rate`` = ``work`` / median seconds, where ``work`` is the ops (GEMM: 2 n^3) or bytes (STREAM)
    one call does; ``unit`` is 'ops/s' or 'B/s'; ``size`` the n; ``threads`` the CPU threads the
    backend ran (1 for GPU benches: the host thread); ``notes`` how the work was counted.
    """

    name: str
    rate: float
    unit: str
    size: int
    samples: Samples
    backend: str
    threads: int = 1
    work: float = 0.0
    notes: str = ""

    @property
    def rate_ci(self) -> tuple[float, float]:
        """95% CI of the rate, from the median's CI (low rate from the high time)."""
        low, high = self.samples.median_ci(0.95)
        return (self.work / high if high > 0 else math.nan, self.work / low if low > 0 else math.nan)

    @property
    def best_rate(self) -> float:
        """The rate of the fastest sample (what best-of-N loops report)."""
        return self.work / self.samples.min if self.samples.min > 0 else math.nan

    def to_dict(self, raw: bool = False) -> dict:
        """JSON-ready; ``raw`` adds the per-call samples in seconds."""
        data = {
            "name": self.name,
            "rate": self.rate,
            "unit": self.unit,
            "rate_ci95": list(self.rate_ci),
            "size": self.size,
            "work": self.work,
            "backend": self.backend,
            "threads": self.threads,
            "notes": self.notes,
            "timing": self.samples.summary(),
        }
        if raw:
            data["samples_s"] = list(self.samples.seconds)
        return data


# ---------------------------------------------------------------------------------------------
# CPU GEMM

_NUMPY_DTYPES = {"fp32": np.float32, "fp64": np.float64}


def _blas_threads(default: int) -> int:
    """Threads NumPy's BLAS runs: threadpoolctl's answer if installed, else the env, else ``default``."""
    if _find_spec("threadpoolctl") is not None:
        try:
            from threadpoolctl import threadpool_info

            counts = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
            if counts:
                return int(max(counts))
        except Exception:  # noqa: BLE001
            pass
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").split(",")[0]
        if value.isdigit() and int(value) > 0:
            return int(value)
    return default


def default_gemm_n(precision: str, *, target_s: float = 0.02) -> int:
    """n so that one n x n x n GEMM takes about ``target_s`` here (half the CPU's peak assumed).

    A multiple of 256 between 256 and 4096; 1024 for fp32 on a 2-core AVX2 machine at 2.4 GHz.
    Without a peak for the precision (fp16 on most CPUs) the fp32 peak at a quarter is used.
    """
    peaks = cpu_peaks(detect_cpu())
    if precision in peaks:
        rate = peaks[precision][0] * 0.5
    elif "fp32" in peaks:
        rate = peaks["fp32"][0] * 0.25
    else:
        rate = 50e9
    n = (target_s * rate / 2.0) ** (1.0 / 3.0)
    return int(min(4096, max(256, round(n / 256) * 256)))


def _ort_matmul_session(precision: str, threads: int):
    """An ONNX Runtime CPU session computing one n x n GEMM in ``precision``; Unsupported if not."""
    if _find_spec("onnxruntime") is None or _find_spec("onnx") is None:
        raise Unsupported("onnxruntime (and onnx) are needed for int8/fp16 GEMM on the CPU")
    import onnxruntime as ort
    from onnx import TensorProto, helper

    if precision == "int8":
        op, types = "MatMulInteger", (TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32)
    elif precision == "fp16":
        op, types = "MatMul", (TensorProto.FLOAT16,) * 3
    elif precision == "fp32":
        op, types = "MatMul", (TensorProto.FLOAT,) * 3
    else:
        raise Unsupported(f"onnxruntime GEMM: no {precision} path here (fp32, fp16, int8)")
    graph = helper.make_graph(
        [helper.make_node(op, ["A", "B"], ["Y"])],
        f"gemm_{precision}",
        [helper.make_tensor_value_info("A", types[0], ["n", "n"]),
         helper.make_tensor_value_info("B", types[1], ["n", "n"])],
        [helper.make_tensor_value_info("Y", types[2], ["n", "n"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 - NOT_IMPLEMENTED: no kernel for this type
        raise Unsupported(f"onnxruntime {ort.__version__} CPU EP has no {op} kernel for {precision}: "
                          f"{str(error).splitlines()[0][:200]}") from error


def gemm(
    precision: str = "fp32",
    n: int | None = None,
    *,
    budget_s: float = 1.0,
    backend: str = "auto",
    threads: int | None = None,
    verify: bool = False,
) -> BenchResult:
    """Sustained GEMM rate: C = A @ B with n x n operands, 2 n^3 ops per call.

    ``backend`` 'auto' picks NumPy for fp32/fp64 (``np.matmul`` into a preallocated ``out=``) and
    onnxruntime for int8 (MatMulInteger, uint8 x int8 -> int32) and fp16 (MatMul); 'numpy' or
    'onnxruntime' force one (onnxruntime does fp32 too). ORT runs with an I/O binding onto
    preallocated buffers, so no allocation is timed. ``threads`` sets ORT's intra-op threads
    (default: the usable cores); NumPy's BLAS threads are reported, not set.
    ``verify`` checks one result against a float64 NumPy product first (RuntimeError if wrong).
    Raises :class:`Unsupported` where the backend lacks the precision.
    """
    if precision not in GEMM_PRECISIONS:
        raise Unsupported(f"CPU GEMM precision {precision!r}: one of {', '.join(GEMM_PRECISIONS)}")
    if backend == "auto":
        backend = "numpy" if precision in _NUMPY_DTYPES else "onnxruntime"
    n = int(n or default_gemm_n(precision))
    rng = np.random.default_rng(0)
    cores = compute_cores(detect_cpu())
    if backend == "numpy":
        if precision not in _NUMPY_DTYPES:
            raise Unsupported(f"NumPy has no BLAS kernel for {precision} GEMM (use onnxruntime)")
        dtype = _NUMPY_DTYPES[precision]
        a = rng.standard_normal((n, n)).astype(dtype)
        b = rng.standard_normal((n, n)).astype(dtype)
        out = np.empty((n, n), dtype=dtype)

        def call() -> None:
            np.matmul(a, b, out=out)

        used_threads = _blas_threads(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                     else os.cpu_count() or 1)
    elif backend == "onnxruntime":
        used_threads = int(threads or cores)
        session = _ort_matmul_session(precision, used_threads)
        if precision == "int8":
            # 7-bit activations, as ORT's reduce_range does: without VNNI, MLAS's u8 x s8 kernel
            # (vpmaddubsw) saturates int16 pair sums for full-range uint8 and returns wrong sums.
            # The range does not change the speed.
            a = rng.integers(0, 128, (n, n), dtype=np.uint8)
            b = rng.integers(-128, 128, (n, n), dtype=np.int8)
            out = np.empty((n, n), dtype=np.int32)
        else:
            dtype = np.float16 if precision == "fp16" else np.float32
            a = rng.standard_normal((n, n)).astype(dtype)
            b = rng.standard_normal((n, n)).astype(dtype)
            out = np.empty((n, n), dtype=dtype)
        binding = session.io_binding()
        binding.bind_cpu_input("A", a)
        binding.bind_cpu_input("B", b)
        binding.bind_output("Y", "cpu", 0, out.dtype, out.shape, out.ctypes.data)
        try:
            session.run_with_iobinding(binding)
        except Exception as error:  # noqa: BLE001
            raise Unsupported(f"onnxruntime {precision} GEMM failed: {str(error)[:200]}") from error

        def call() -> None:
            session.run_with_iobinding(binding)
    else:
        raise Unsupported(f"CPU GEMM backend {backend!r}: numpy, onnxruntime or auto")
    if verify:
        call()
        _verify(precision, a, b, out)
    samples = measure(call, budget_s=budget_s)
    work = 2.0 * n**3
    return BenchResult(
        name=f"gemm-{precision}", rate=work / samples.median, unit="ops/s", size=n,
        samples=samples, backend=backend, threads=used_threads, work=work,
        notes=f"{n}x{n}x{n}, 2*n^3 ops per call",
    )


def _verify(precision: str, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    reference = a.astype(np.float64) @ b.astype(np.float64)
    error = float(np.max(np.abs(out.astype(np.float64) - reference)))
    scale = float(np.max(np.abs(reference))) or 1.0
    tolerance = {"int8": 0.0, "fp16": 2e-2, "fp32": 1e-4, "fp64": 1e-10}[precision] * scale
    if error > tolerance:
        raise RuntimeError(f"gemm-{precision}: result differs from NumPy's float64 product by "
                           f"{error:.3g} (tolerance {tolerance:.3g})")


# ---------------------------------------------------------------------------------------------
# CPU STREAM

#: STREAM's four kernels: the arrays each moves per element, as STREAM counts them (McCalpin,
#: "STREAM: Sustainable Memory Bandwidth in High Performance Computers", https://www.cs.virginia.edu/stream/ref.html:
#: copy a(i)=b(i) and scale a(i)=q*b(i) count 2 x 8 bytes per element, add a(i)=b(i)+c(i) and triad
#: a(i)=b(i)+q*c(i) count 3 x 8).
STREAM_KERNELS = {"copy": 2, "scale": 2, "add": 3, "triad": 3}
_STREAM_BYTES = STREAM_KERNELS

#: Elements per chunk of triad's cache-resident temporary (256 KiB of float64: inside any L2).
_TRIAD_CHUNK = 32768


def _stream_kernel(kind: str, scalar: float):
    """A function ``work(dst, src1, src2, tmp)`` doing one STREAM kernel over its slices, one pass each.

    copy, scale and add are one NumPy ufunc each (``np.positive``, ``np.multiply``, ``np.add``), with
    ordinary stores as STREAM's C loops have (``np.copyto`` would call memcpy, whose non-temporal
    stores skip the write-allocate and so would not be comparable with the others). NumPy has no
    fused multiply-add ufunc, so triad forms ``q*c`` a chunk at a time in ``tmp`` (256 KiB, which stays
    in cache) and adds ``b`` into ``a``: each of the three arrays crosses the memory bus once.
    """
    if kind == "copy":
        def work(dst, src1, src2, tmp):
            np.positive(src1, out=dst)
    elif kind == "scale":
        def work(dst, src1, src2, tmp):
            np.multiply(src1, scalar, out=dst)
    elif kind == "add":
        def work(dst, src1, src2, tmp):
            np.add(src1, src2, out=dst)
    else:
        def work(dst, src1, src2, tmp):
            for i in range(0, len(dst), _TRIAD_CHUNK):
                j = min(i + _TRIAD_CHUNK, len(dst))
                part = tmp[: j - i]
                np.multiply(src2[i:j], scalar, out=part)
                np.add(src1[i:j], part, out=dst[i:j])
    return work


def stream(
    kind: str = "triad",
    n: int | None = None,
    *,
    budget_s: float = 1.0,
    cache_bytes: int | None = None,
    threads: int | None = None,
) -> BenchResult:
    """Sustained memory bandwidth of one STREAM kernel (copy, scale, add, triad), counted as STREAM counts it.

    Arrays of float64, each of ``n`` elements, by default at least 4x the last-level cache the OS
    reports (``cache_bytes``, else the whole L3, else 32 MiB; STREAM's own rule), so they stream from
    DRAM. Each call is one pass of the kernel over the arrays (:func:`_stream_kernel`); the bytes
    counted are STREAM's (:data:`STREAM_KERNELS`: 2 or 3 arrays x 8 x n). Like STREAM, the
    write-allocate read of the destination is not counted, so this is a lower bound of the traffic.

    One thread per usable core (``threads``; NumPy releases the GIL inside ufuncs), each working on its
    own contiguous slice, as STREAM's OpenMP loop does.
    """
    if kind not in STREAM_KERNELS:
        raise Unsupported(f"STREAM kind {kind!r}: one of {', '.join(STREAM_KERNELS)}")
    cpu = detect_cpu()
    llc = int(cache_bytes or cpu.l3_bytes or cpu.l2_bytes or 32 * 2**20)
    n = int(n or max(4 * llc // 8, 2**20))
    arrays = STREAM_KERNELS[kind]
    if cpu.memory_bytes and arrays * 8 * n > cpu.memory_bytes // 2:
        raise Unsupported(f"STREAM n={n}: {arrays} arrays of {8 * n / 1e9:.3g} GB exceed half the RAM")
    threads = int(threads or compute_cores(cpu))
    threads = max(1, min(threads, n // 1024 or 1))
    a = np.full(n, 1.0)
    b = np.full(n, 2.0)
    c = np.full(n, 0.5) if arrays == 3 else None
    scalar = 3.0
    work = _stream_kernel(kind, scalar)
    bounds = [n * t // threads for t in range(threads + 1)]
    pieces = [(a[lo:hi], b[lo:hi], c[lo:hi] if c is not None else None,
               np.empty(_TRIAD_CHUNK) if kind == "triad" else None)
              for lo, hi in zip(bounds, bounds[1:])]

    with contextlib.ExitStack() as stack:
        if threads == 1:
            def call() -> None:
                work(*pieces[0])
        else:
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=threads))

            def call() -> None:
                for future in [pool.submit(work, *piece) for piece in pieces]:
                    future.result()
        samples = measure(call, budget_s=budget_s, warmup=2)
    work_bytes = float(arrays * 8 * n)
    counted = {"copy": "read b, write a", "scale": "read b, write a", "add": "read b, read c, write a",
               "triad": "read b, read c, write a"}[kind]
    return BenchResult(
        name=f"stream-{kind}", rate=work_bytes / samples.median, unit="B/s", size=n,
        samples=samples, backend="numpy", threads=threads, work=work_bytes,
        notes=f"float64 arrays of {8 * n / 2**20:.0f} MiB (LLC {llc / 2**20:.3g} MiB); one pass; bytes = "
              f"{arrays} x 8 x n ({counted}), as STREAM counts (write-allocate not counted)",
    )


# ---------------------------------------------------------------------------------------------
# GPU (PyTorch + CUDA)


def cuda_available() -> bool:
    """True when PyTorch is installed and sees a CUDA device (imports torch only if installed)."""
    if _find_spec("torch") is None:
        return False
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


def _torch_cuda():
    if _find_spec("torch") is None:
        raise Unsupported("PyTorch is not installed: no GPU benchmarks")
    try:
        import torch
    except Exception as error:  # noqa: BLE001
        raise Unsupported(f"PyTorch failed to import: {error}") from error
    if not torch.cuda.is_available():
        raise Unsupported("PyTorch sees no CUDA device")
    return torch


def measure_cuda(
    call: Callable[[], object],
    *,
    budget_s: float = 2.0,
    min_samples: int = 10,
    max_samples: int = 1000,
    target_ci: float = 0.01,
    warmup: int = 3,
    flush: Callable[[], object] | None = None,
    confidence: float = 0.95,
) -> Samples:
    """Per-call GPU times from CUDA events (triton ``do_bench``'s method).

    Each call gets its own start/end event pair; ``flush`` (e.g. zeroing a buffer larger than L2)
    runs before each call, outside the events, so every call starts with a cold L2. Calls are
    issued in batches of about 50 ms and the host synchronises once per batch; the stop rules are
    :func:`~chipfit_localhost.timing.measure`'s (median CI within ±target_ci, budget, max_samples).
    Event times measure the GPU's work only, not launch overhead on the host.
    """
    torch = _torch_cuda()
    started = time.perf_counter()
    for _ in range(warmup):
        if flush is not None:
            flush()
        call()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(3):
        call()
    end.record()
    torch.cuda.synchronize()
    estimate = max(start.elapsed_time(end) / 3e3, 1e-6)
    batch = max(1, min(200, int(0.05 / estimate)))
    seconds: list[float] = []
    ordered: list[float] = []
    stop = "max_samples"
    while len(seconds) < max_samples:
        if len(seconds) >= min_samples:
            if target_ci and _ci_within(ordered, target_ci, confidence):
                stop = "ci"
                break
            if time.perf_counter() - started >= budget_s:
                stop = "budget"
                break
        pairs = []
        for _ in range(min(batch, max_samples - len(seconds))):
            if flush is not None:
                flush()
            begin, finish = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            call()
            finish.record()
            pairs.append((begin, finish))
        torch.cuda.synchronize()
        for begin, finish in pairs:
            value = begin.elapsed_time(finish) / 1e3
            seconds.append(value)
            ordered.append(value)
        ordered.sort()
    return Samples(tuple(seconds), block=1, stop=stop, elapsed_s=time.perf_counter() - started)


_L2_FLUSH_BYTES = 256 * 2**20


def gpu_gemm(
    precision: str = "bf16",
    n: int = 8192,
    *,
    budget_s: float = 2.0,
    device: int = 0,
    timer: str = "events",
    flush_l2: bool = True,
) -> BenchResult:
    """Sustained GEMM rate of a CUDA GPU through ``torch.matmul`` (2 n^3 ops per call).

    precision: bf16, fp16, fp32 (TF32 off), tf32 (fp32 tensors, TF32 tensor cores allowed), int8
    (``torch._int_mm``, int8 x int8 -> int32). ``timer`` 'events' times each call with CUDA events
    and flushes L2 with a 256 MiB write between calls, outside the timed window (``flush_l2``);
    'sync' uses :func:`~chipfit_localhost.timing.measure` with ``sync=torch.cuda.synchronize``
    (blocks of calls, host clock; includes launch gaps). Raises :class:`Unsupported` without
    torch/CUDA, for an unknown precision or when the operands do not fit.
    """
    torch = _torch_cuda()
    if precision not in GPU_GEMM_PRECISIONS:
        raise Unsupported(f"GPU GEMM precision {precision!r}: one of {', '.join(GPU_GEMM_PRECISIONS)}")
    dev = torch.device("cuda", device)
    old_tf32 = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        if precision == "int8":
            if not hasattr(torch, "_int_mm"):
                raise Unsupported(f"torch {torch.__version__} has no torch._int_mm for int8 GEMM")
            a = torch.randint(-128, 128, (n, n), dtype=torch.int8, device=dev)
            b = torch.randint(-128, 128, (n, n), dtype=torch.int8, device=dev)

            def call() -> None:
                torch._int_mm(a, b)
        else:
            dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
            a = torch.randn((n, n), dtype=dtype, device=dev)
            b = torch.randn((n, n), dtype=dtype, device=dev)
            out = torch.empty((n, n), dtype=dtype, device=dev)

            def call() -> None:
                torch.matmul(a, b, out=out)
        try:
            call()
        except RuntimeError as error:
            raise Unsupported(f"torch {precision} GEMM failed: {str(error).splitlines()[0][:200]}") from error
        samples = _time_gpu(torch, call, timer=timer, budget_s=budget_s, flush_l2=flush_l2, dev=dev)
    except torch.cuda.OutOfMemoryError as error:
        raise Unsupported(f"GPU GEMM n={n} {precision}: out of GPU memory") from error
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old_tf32
    work = 2.0 * n**3
    return BenchResult(
        name=f"gpu-gemm-{precision}", rate=work / samples.median, unit="ops/s", size=n,
        samples=samples, backend="torch-cuda", threads=1, work=work,
        notes=f"{torch.cuda.get_device_name(dev)}; {n}x{n}x{n}, 2*n^3 ops; timer={timer}"
              + ("; L2 flushed between calls" if flush_l2 and timer == "events" else ""),
    )


def _time_gpu(torch, call, *, timer: str, budget_s: float, flush_l2: bool, dev) -> Samples:
    if timer == "sync":
        return measure(call, budget_s=budget_s, warmup=3, sync=torch.cuda.synchronize)
    if timer != "events":
        raise Unsupported(f"GPU timer {timer!r}: events or sync")
    flush = None
    if flush_l2:
        buffer = torch.empty(_L2_FLUSH_BYTES // 4, dtype=torch.int32, device=dev)
        flush = buffer.zero_
    return measure_cuda(call, budget_s=budget_s, flush=flush)


def gpu_stream(n: int = 2**28, *, budget_s: float = 2.0, device: int = 0, timer: str = "events") -> BenchResult:
    """Device-to-device copy bandwidth of a CUDA GPU: ``dst.copy_(src)`` on float32 tensors of n
    elements (1 GiB each by default), counted as 2 x 4 x n bytes per call (read + write).
    Raises :class:`Unsupported` without torch/CUDA or when the buffers do not fit."""
    torch = _torch_cuda()
    dev = torch.device("cuda", device)
    try:
        src = torch.ones(n, dtype=torch.float32, device=dev)
        dst = torch.empty_like(src)

        def call() -> None:
            dst.copy_(src)

        samples = _time_gpu(torch, call, timer=timer, budget_s=budget_s, flush_l2=False, dev=dev)
    except torch.cuda.OutOfMemoryError as error:
        raise Unsupported(f"GPU copy n={n}: out of GPU memory") from error
    work = 2.0 * 4 * n
    return BenchResult(
        name="gpu-stream-copy", rate=work / samples.median, unit="B/s", size=n,
        samples=samples, backend="torch-cuda", threads=1, work=work,
        notes=f"{torch.cuda.get_device_name(dev)}; float32, bytes = 2 x 4 x n (read + write); timer={timer}",
    )


# ---------------------------------------------------------------------------------------------


def run_all(*, budget_s: float = 1.0, gpu: bool = True) -> list[BenchResult]:
    """Every CPU benchmark that runs here, then the GPU ones when torch sees CUDA.

    Benchmarks that raise :class:`Unsupported` are skipped silently; ``budget_s`` is per benchmark.
    """
    jobs: list[Callable[[], BenchResult]] = [
        *(lambda p=p: gemm(p, budget_s=budget_s) for p in GEMM_PRECISIONS),
        *(lambda k=k: stream(k, budget_s=budget_s) for k in STREAM_KERNELS),
    ]
    if gpu and cuda_available():
        jobs += [lambda p=p: gpu_gemm(p, budget_s=budget_s) for p in GPU_GEMM_PRECISIONS]
        jobs.append(lambda: gpu_stream(budget_s=budget_s))
    results = []
    for job in jobs:
        try:
            results.append(job())
        except Unsupported:
            continue
    return results
