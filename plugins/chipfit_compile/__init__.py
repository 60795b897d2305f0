"""General-purpose work for chipfit: compiling the Linux kernel.

Not AI work: it shows which devices are general-purpose at all (an inference ASIC cannot compile
a kernel) and what a CPU's general-purpose rate is, the rate the seed articles compared with.
"""

import chipfit
from chipfit import Operator, Workload

#: The seed article's figure. No primary source confirmed it (chipfit_yolo/SOURCES.md section 3:
#: no instruction count of a kernel build was found; a Linux 4.13 build measured on an AMD machine
#: suggests ~3.2e12 instructions, the same order of magnitude).
KERNEL_COMPILE_OPS = 5.4e12


@chipfit.hookimpl
def chipfit_register_workloads(register):
    """The Linux kernel build, as one general-purpose operator of 5.4 tera-ops."""
    register(Workload(
        id="linux-kernel-compile",
        name="Compile the Linux kernel",
        domain="general-purpose: software build",
        phase="general",
        operators=(Operator("compile", KERNEL_COMPILE_OPS, name="make (defconfig)"),),
        sources={
            "ops_per_sample": ("'How Inferencing Differs From Training in Machine Learning Applications' (2024; author "
                               "and site not named in the copy used): compiling the Linux kernel is 'about 5.4 "
                               "tera-operations' (no primary source behind that figure)"),
        },
        derivations={
            "ops_per_sample": "cross-check, not a source: perf.mvermeulen.com build-linux-kernel (Linux 4.13): "
                              "1,270 CPU-seconds x ~3.6 GHz x IPC 0.708 ~ 3.2e12 instructions",
        },
        unconfirmed={"ops_per_sample"},
    ))
