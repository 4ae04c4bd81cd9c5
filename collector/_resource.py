"""Who is reporting: the stable device id and the OTLP resource attributes of every batch."""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import uuid
from pathlib import Path

from edgewatch.collector._spool import write_durably

DEVICE_ID_FILE = "device_id"
_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm32",
    "armv6l": "arm32",
    "i386": "x86",
    "i686": "x86",
    "ppc64le": "ppc64",
    "s390x": "s390x",
}
_MODEL_FILES = (
    "sys/firmware/devicetree/base/model",  # Raspberry Pi, Jetson and other device-tree boards
    "sys/class/dmi/id/product_name",  # PCs and industrial PCs
)


def derive_device_id(spool_dir: Path, machine_id_path: Path = Path("/etc/machine-id")) -> str:
    """The id persisted in ``spool_dir``, or a new one derived and persisted there.

    Derived from ``/etc/machine-id`` when readable (hashed with an edgewatch-specific prefix, as
    machine-id(5) asks, so the raw id never leaves the device), else a random UUID.
    """
    stored = spool_dir / DEVICE_ID_FILE
    try:
        existing = stored.read_text().strip()
    except OSError:
        existing = ""
    if existing:
        return existing
    try:
        machine_id = machine_id_path.read_text().strip()
    except OSError:
        machine_id = ""
    if machine_id:
        new = hashlib.sha256(f"edgewatch:{machine_id}".encode()).hexdigest()[:32]
    else:
        new = uuid.uuid4().hex
    spool_dir.mkdir(parents=True, exist_ok=True)
    write_durably(stored, new.encode() + b"\n")
    return new


def host_arch() -> str:
    machine = platform.machine().lower()
    return _ARCH.get(machine, machine or "unknown")


def os_type() -> str:
    return {"win32": "windows", "darwin": "darwin"}.get(
        sys.platform, sys.platform.rstrip("0123456789")
    )


def device_model(root: str | os.PathLike[str] = "/") -> str | None:
    """The board or product name the firmware reports (e.g. ``NVIDIA Jetson Orin Nano``)."""
    for rel in _MODEL_FILES:
        try:
            text = Path(root, rel).read_bytes().rstrip(b"\x00\n ").decode(errors="replace")
        except OSError:
            continue
        if text:
            return text
    return None
