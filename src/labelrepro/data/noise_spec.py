"""Label-noise specs (the `label_noise` mappings of experiment files): allowed models and keys, and their
validation. Kept free of torch so the Snakefile validates every cell's noise spec quickly; the
generators themselves are in `labelrepro.data.noise`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _check_rate(value: Any, name: str = "rate") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    value = float(value)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return value


#: Allowed spec keys per model, with their defaults (None = required).
SPEC_KEYS: dict[str, dict[str, Any]] = {
    "none": {"rate": 0.0},
    "symmetric": {"rate": None, "allow_true_class": False, "exact_fraction": False},
    "asymmetric": {"rate": None, "exact_fraction": False},
    "pair": {"rate": None},
    "instance": {"rate": None, "rate_std": 0.1, "normalize_features": True},
    # CORES' (and ALASCA's copy of it) generator: one shared weight matrix on raw pixels.
    "instance_cores": {"rate": None, "rate_std": 0.1},
}

_BOOL_KEYS = {"allow_true_class", "exact_fraction", "normalize_features"}


def canonical_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a noise spec and return it with defaults filled in and numbers as floats.

    Raises ValueError for an unknown model (listing the valid ones), an unknown key (naming it and the
    keys allowed for that model), a missing rate, or a bad value.
    """
    if not isinstance(spec, Mapping):
        raise ValueError(f"noise spec must be a dict, got {type(spec).__name__}")
    model = spec.get("model")
    if model not in SPEC_KEYS:
        raise ValueError(f"unknown noise model {model!r}; valid models: {sorted(SPEC_KEYS)}")
    allowed = SPEC_KEYS[model]
    for key in spec:
        if key != "model" and key not in allowed:
            raise ValueError(
                f"unknown key {key!r} in noise spec for model {model!r}; "
                f"allowed keys: {['model', *sorted(allowed)]}"
            )
    out: dict[str, Any] = {"model": model}
    for key, default in allowed.items():
        if key not in spec and default is None:
            raise ValueError(f"noise spec for model {model!r} needs key {key!r}")
        value = spec.get(key, default)
        if key == "rate":
            value = _check_rate(value)
        elif key == "rate_std":
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise ValueError(f"rate_std must be a number >= 0, got {value!r}")
            value = float(value)
        elif key in _BOOL_KEYS and not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false, got {value!r}")
        out[key] = value
    if model == "none" and out.pop("rate") != 0.0:
        raise ValueError("noise model 'none' takes no rate (or rate 0); use another model for noise")
    return out
