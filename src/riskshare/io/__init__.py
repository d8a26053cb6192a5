"""Input: pool files (TOML/JSON), state tables (CSV/Parquet) and the bundled hurricane data."""

from .hazard import (
    KNOWN_LIMITS,
    DamageCurve,
    Hazard,
    Site,
    annual_losses,
    damage_curve,
    damage_ratio,
    load_damage_curves,
    load_florida_hazard,
    nearest_centroids,
)
from .spec import RunSpec, example_path, load_spec, parse_spec, read_document

__all__ = [
    "RunSpec",
    "load_spec",
    "parse_spec",
    "read_document",
    "example_path",
    "Hazard",
    "Site",
    "DamageCurve",
    "load_florida_hazard",
    "load_damage_curves",
    "damage_curve",
    "damage_ratio",
    "annual_losses",
    "nearest_centroids",
    "KNOWN_LIMITS",
]
