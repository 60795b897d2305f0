"""ONNX for chipfit: any ``.onnx`` file becomes a workload, and the reference models are real graphs.

``chipfit_load_workload`` counts a user's model per operator (:mod:`chipfit_onnx.counting`);
``chipfit_register_workloads`` registers ResNet-50, MobileNetV2, BERT-base, Llama 3 8B and 70B
(prefill and decode) and ResNet-50 training, each counted from a graph built by
:mod:`chipfit_onnx.models`. onnx is imported only when a graph has to be read or counted.
"""

import chipfit


@chipfit.hookimpl
def chipfit_load_workload(source, dims):
    """Count an ``.onnx`` file; None for other formats."""
    if not str(source).lower().endswith(".onnx"):
        return None
    from chipfit_onnx.counting import load_workload

    return load_workload(source, dims)


@chipfit.hookimpl
def chipfit_register_workloads(register):
    """The reference workloads (counts cached on disk)."""
    from chipfit_onnx.reference import workloads

    for workload in workloads():
        register(workload)
