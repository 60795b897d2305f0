"""Dense matrix multiplication for chipfit: the kernel that datasheet peaks describe.

A square GEMM is compute-bound on every device here, so its modelled rate is peak x compute
efficiency: the workload that compares devices on raw ops/s and ops/s per watt at any precision.
"""

import chipfit
from chipfit import Operator, Workload


def gemm(size: int) -> Workload:
    """C = A x B with square N x N matrices: 2 N^3 ops; A, B read and C written once (FP32 bytes)."""
    return Workload(
        id=f"gemm-{size}",
        name=f"Dense GEMM {size}x{size}x{size}",
        domain="linear algebra: matrix multiplication",
        phase="inference",
        operators=(Operator("matmul", 2.0 * size**3, weight_bytes=size * size * 4.0,
                            activation_bytes=2 * size * size * 4.0, name="matmul"),),
        parameters=float(size * size),
        precision="fp32",
        derivations={"ops_per_sample": f"2 x {size}^3 = {2 * size**3:.4g} ops (a multiply-add is 2)"},
        graph=f"reference:gemm-{size}",
    )


@chipfit.hookimpl
def chipfit_register_workloads(register):
    """GEMM at 4096 and 8192."""
    register(gemm(4096))
    register(gemm(8192))
