"""Model / version / device pickers shared by the Drift and Versions pages."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from edgewatch.contract import DeviceOut as Device

ALL = "(all)"


@dataclass(frozen=True, slots=True)
class ModelSelection:
    """A model, optionally one of its versions, optionally one device."""

    model: str
    version: str | None
    device: str | None


def models_of(devices: list[Device]) -> list[str]:
    """Model names the fleet runs, sorted."""
    return sorted({d.model_name for d in devices if d.model_name})


def versions_of(devices: list[Device], model: str) -> list[str]:
    """Versions of ``model`` the fleet runs, sorted."""
    return sorted({d.model_version for d in devices if d.model_name == model and d.model_version})


def pick_model(
    devices: list[Device], *, key: str, with_device: bool = True
) -> ModelSelection | None:
    """Select boxes for model, version and device; ``None`` when no device names a model."""
    models = models_of(devices)
    if not models:
        return None
    cols = st.columns(3 if with_device else 2)
    model = cols[0].selectbox("Model", models, key=f"{key}_model")
    versions = versions_of(devices, model)
    version = cols[1].selectbox("Version", [ALL, *versions], key=f"{key}_version")
    device = None
    if with_device:
        ids = [
            d.device_id
            for d in devices
            if d.model_name == model and (version == ALL or d.model_version == version)
        ]
        device = cols[2].selectbox("Device", [ALL, *ids], key=f"{key}_device")
    return ModelSelection(
        model, None if version == ALL else version, None if device in (None, ALL) else device
    )
