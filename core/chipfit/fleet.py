"""A fleet's devices as cluster resources: what a node advertises, and the ids a spec uses for them.

A node that holds devices says so with custom resources (``chipfit node-resources`` prints them for
``ray start --resources``): one ``chipfit-device:ID`` per measurable device its plugins register,
and one ``chipfit-node:NAME`` naming the node. An executor then sends each measured cell where its
device's resource is. Where several nodes hold a device of the same id (every machine has a
``localhost-cpu``), a spec names one of them as ``ID@NODE``: a :class:`Placement`, the device's own
id and the node, which a measured cell carries (``MeasureTask.placement``). A device's id itself is
always the plain one.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Iterable

import attrs

from chipfit.errors import ChipfitError

DEVICE_PREFIX = "chipfit-device:"
NODE_PREFIX = "chipfit-node:"

#: What a node name may hold (it is part of resource names and of ``ID@NODE``).
_NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def node_name(name: str | None = None) -> str:
    """This node's name: ``name``, else ``$CHIPFIT_NODE``, else the host name (characters other than
    letters, digits, ``.``, ``_`` and ``-`` become ``-``).

    :raises ChipfitError: a name given (or in ``CHIPFIT_NODE``) with other characters.
    """
    given = name or os.environ.get("CHIPFIT_NODE")
    if given:
        if not _NODE_NAME.match(given):
            raise ChipfitError(f"node name {given!r}: use letters, digits, '.', '_' and '-' (it names a cluster "
                               "resource and the DEVICE@NODE ids of a spec)")
        return given
    host = re.sub(r"[^A-Za-z0-9._-]", "-", platform.node()).strip("-.") or "node"
    return host if host[0].isalnum() else f"n{host}"


def node_resources(measurable: Iterable[str], node: str) -> dict[str, float]:
    """The custom resources a node advertises: one unit per device (a device measures one cell at a time)
    and one naming the node."""
    return {**{f"{DEVICE_PREFIX}{ident}": 1.0 for ident in sorted(measurable)}, f"{NODE_PREFIX}{node}": 1.0}


def held(resources: dict[str, float]) -> tuple[str | None, list[str]]:
    """A node's name and the device ids it holds, from its resources (None: not a chipfit node)."""
    names = [key.removeprefix(NODE_PREFIX) for key in resources if key.startswith(NODE_PREFIX)]
    devices = sorted(key.removeprefix(DEVICE_PREFIX) for key in resources if key.startswith(DEVICE_PREFIX))
    return (names[0] if names else None), devices


@attrs.frozen
class Placement:
    """Where a measured cell runs: a device (its plain id) and the node that holds it (None: any node
    that holds a device of that id). Written ``ID@NODE``, or ``ID`` alone, as a spec and a row name it."""

    device: str
    node: str | None = None

    @classmethod
    def parse(cls, name: str) -> Placement:
        """``localhost-cpu@gpu-server`` -> (``localhost-cpu``, ``gpu-server``); a plain id -> (id, None)."""
        device, at, node = name.rpartition("@")
        return cls(device, node) if at and device and node else cls(name)

    def __str__(self) -> str:
        return f"{self.device}@{self.node}" if self.node else self.device
