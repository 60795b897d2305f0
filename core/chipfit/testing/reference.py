"""The conformance kit's reference plugin: a made-up device and workloads that every conformance run can use."""

from __future__ import annotations

from chipfit.hookspecs import hookimpl
from chipfit.records import Capability, Device, Operator, Workload

#: The name the reference plugin is registered under in the kit's plugin manager.
REFERENCE_PLUGIN = "chipfit.testing.reference"
#: The reference device: every precision and capability, memory for any workload (made-up figures).
REFERENCE_DEVICE_ID = "chipfit-reference-accelerator"

_MADE_UP = "chipfit.testing: a made-up figure of the conformance kit's reference device (not a real device)"


def reference_device() -> Device:
    """A made-up device that computes in every precision, has every capability and 1 TB of memory."""
    peaks = {"fp64": 50e12, "fp32": 100e12, "tf32": 200e12, "fp16": 400e12, "bf16": 400e12,
             "fp8": 800e12, "int8": 800e12, "int4": 1600e12}
    return Device(
        id=REFERENCE_DEVICE_ID, name="chipfit reference accelerator (made up)", vendor="chipfit", kind="gpu",
        segment="datacenter", peak_ops=peaks, memory_bandwidth=4e12, memory_capacity=1e12, power=700.0,
        year=2025, capabilities=list(Capability), runtimes=["onnxruntime"], price=30_000.0,
        interconnect_bandwidth=900e9, general_ops=1e12,
        sources={field: _MADE_UP for field in ("peak_ops", "memory_bandwidth", "memory_capacity", "power", "year",
                                               "price", "interconnect_bandwidth", "general_ops")},
        notes="The conformance kit's device for runs of a plugin's workloads; not a real device.",
    )


def reference_workloads() -> list[Workload]:
    """Small made-up workloads for runs of a plugin's devices: inference, training and general-purpose."""
    size = 512
    dense = Workload(
        id="chipfit-reference-dense", name="Reference dense layer 512x512", domain="test", phase="inference",
        operators=(Operator("matmul", 2.0 * size * size, weight_bytes=size * size * 4.0,
                            activation_bytes=2 * size * 4.0, name="dense"),),
        parameters=float(size * size), precision="fp32",
        derivations={"ops_per_sample": f"2 x {size} x {size} (a multiply-add per weight)",
                     "parameters": f"{size} x {size} weights"},
    )
    train = dense.for_training("chipfit-reference-dense-train", "Reference dense layer 512x512, training",
                               dataset_samples=1e6, epochs=1.0,
                               sources={"dataset_samples": "chipfit.testing: a made-up recipe",
                                        "epochs": "chipfit.testing: a made-up recipe"})
    general = Workload(
        id="chipfit-reference-general", name="Reference general-purpose job", domain="test", phase="general",
        operators=(Operator("general", 1e12, name="job"),),
        derivations={"ops_per_sample": "chipfit.testing: 1e12 ops, a made-up job"},
    )
    return [dense, train, general]


class ReferencePlugin:
    """Registers the reference device and workloads into the kit's plugin manager."""

    @hookimpl
    def chipfit_register_devices(self, register):
        """The reference device."""
        register(reference_device())

    @hookimpl
    def chipfit_register_workloads(self, register):
        """The reference workloads."""
        for workload in reference_workloads():
            register(workload)
