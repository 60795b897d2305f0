"""The example's workload: one token through one feed-forward block of Llama 3 8B, in FP16.

A decode step of a large language model reads every weight once per token, so this block is
memory-bound on every device at batch 1: the case where an accelerator's memory bandwidth, and its
host overhead, matter more than its peak.
"""

from chipfit import Operator, Workload

#: Llama 3 8B's model dimension and FFN dimension (Llama Team, "The Llama 3 Herd of Models",
#: arXiv:2407.21783, Table 3: 8B has model dimension 4,096 and FFN dimension 14,336; SwiGLU).
WIDTH = 4096
FFN = 14336
LLAMA_3_TABLE_3 = ("Llama Team, 'The Llama 3 Herd of Models', arXiv:2407.21783, Table 3: Llama 3 8B, model "
                   "dimension 4,096, FFN dimension 14,336, SwiGLU activation")
BYTES = 2  # FP16


def _matmul(name: str, inputs: int, outputs: int) -> Operator:
    """A projection of one token: a multiply-add per weight; weights read once, input and output once."""
    return Operator("MatMul", 2.0 * inputs * outputs, weight_bytes=float(inputs * outputs * BYTES),
                    activation_bytes=float((inputs + outputs) * BYTES), name=name)


def llama_3_8b_ffn_token() -> Workload:
    """down(silu(gate(x)) * up(x)) for one token: three projections and the SwiGLU product."""
    operators = (
        _matmul("gate", WIDTH, FFN),
        _matmul("up", WIDTH, FFN),
        Operator("Mul", 5.0 * FFN, activation_bytes=3.0 * FFN * BYTES, name="silu(gate) x up"),
        _matmul("down", FFN, WIDTH),
    )
    matmul_ops = 3 * 2 * WIDTH * FFN
    return Workload(
        id="llama-3-8b-ffn-token",
        name="Llama 3 8B feed-forward block, one token (FP16)",
        domain="language: LLM",
        phase="inference",
        operators=operators,
        parameters=float(3 * WIDTH * FFN),
        precision="fp16",
        sources={"operators": LLAMA_3_TABLE_3, "parameters": LLAMA_3_TABLE_3},
        derivations={
            "ops_per_sample": f"3 projections x 2 x {WIDTH:,} x {FFN:,} = {matmul_ops:,} ops, plus SwiGLU "
                              f"5 ops x {FFN:,} (sigmoid as exp, add, divide; two multiplies) = {5 * FFN:,}",
            "parameters": f"3 x {WIDTH:,} x {FFN:,} = {3 * WIDTH * FFN:,} weights (no biases)",
        },
        notes="One of Llama 3 8B's 32 feed-forward blocks, for one token (a decode step); attention is left out.",
    )
