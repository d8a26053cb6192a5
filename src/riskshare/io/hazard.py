r"""The bundled Florida tropical-cyclone hazard: loader, damage curve, annual losses.

Notation. The hazard set holds ``E = 14,450`` storms (events) on ``C = 100``
grid cells (centroids, 1° apart, 21–30 °N, 84–75 °W). ``I[e, c] >= 0`` is the
1-minute sustained wind of storm ``e`` at cell ``c`` in m/s (a sparse matrix).
Storm ``e`` (0-based) is member ``e % 10`` of track ``e // 10``: member 0 is the
observed (historical) storm, members 1–9 are its synthetic variants.

Simulated years. Year ``y`` of the catalogue (1851..2011) and member ``k`` make
the simulated year ``s = (y − 1851)·10 + k``: 161 × 10 = 1,610 equally likely
years. With ``members="historical"`` only member 0 is kept: 161 years.

Damage. The calibrated sigmoid of the bundled tables (Emanuel's form):

.. math:: v_n = \frac{\max(v - v_\text{thresh}, 0)}{v_\text{half} - v_\text{thresh}},
          \qquad f(v) = \frac{v_n^3}{1 + v_n^3},

with ``v_thresh = 25.7`` m/s and ``v_half`` read from the table for the
region (North Atlantic USA/Canada ``NA2``: 89.2 m/s in the ``TDR`` table).
A farm of value ``V`` at the cell ``c`` nearest to it (great-circle distance)
loses in simulated year ``s`` the amount ``min(V, Σ_{e in s} V f(I[e, c]))``.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import h5py
import numpy as np
from scipy import sparse

from .._errors import DataFileError, SiteError, UnsupportedError

__all__ = [
    "Hazard",
    "Site",
    "DamageCurve",
    "load_florida_hazard",
    "load_damage_curves",
    "damage_curve",
    "damage_ratio",
    "annual_losses",
    "nearest_centroids",
    "year_labels",
    "bundled_data_path",
    "KNOWN_LIMITS",
    "FIRST_YEAR",
    "MEMBERS_PER_TRACK",
    "V_THRESH",
    "EARTH_RADIUS_KM",
]

#: first year of the catalogue; simulated year ``(year - FIRST_YEAR)*10 + member``
FIRST_YEAR = 1851
#: storms per track: the observed storm and nine synthetic variants
MEMBERS_PER_TRACK = 10
#: wind (m/s) below which the calibrated curve gives no damage
V_THRESH = 25.7
#: mean Earth radius used for great-circle distances
EARTH_RADIUS_KM = 6371.0088
#: sites farther than this from every grid cell are outside the data's coverage
MAX_SITE_DISTANCE_KM = 120.0

_DATA_PACKAGE = "riskshare"
_DATA_DIR = ("data", "climada_florida_tc")
_HAZARD_FILE = "atl_prob_nonames.mat"
_CURVE_FILES = {"TDR": "tc_impf_cal_v01_TDR1.0.csv", "RMSF": "tc_impf_cal_v01_RMSF.csv"}
#: sha256 of the bundled hazard file, as documented in data/climada_florida_tc/PROVENANCE.md
BUNDLED_HAZARD_SHA256 = "4a51bf3d7289c8408771b6a9cac18a1635f589d790427a654fa0e78ee10c4334"

#: known limits of the data, stated in every report built on it
KNOWN_LIMITS = (
    "The ten members of a catalogue year are not independent draws: members 1-9 are "
    "perturbed copies of the observed storms of that year, so the 1,610 simulated years "
    "carry less information than 1,610 independent years would.",
    "The synthetic storms weaken too little over land, so winds (and losses) inland are "
    "likely overstated for the synthetic members.",
    "The grid is 1 degree (about 100 km) with no land mask: each farm takes the wind at the "
    "nearest cell centre, which may lie over the sea, Cuba or the Bahamas.",
    "The damage curve is the regional calibration for all assets (North Atlantic NA2), not a "
    "crop-specific curve; no deductible or storm surge is modelled.",
)


# --------------------------------------------------------------------------- paths
def bundled_data_path(name: str) -> Path:
    """Path of a file in the bundled ``data/climada_florida_tc`` folder."""
    root = resources.files(_DATA_PACKAGE).joinpath(*_DATA_DIR, name)
    return Path(str(root))


# --------------------------------------------------------------------------- damage curves
@dataclass(frozen=True)
class DamageCurve:
    """The calibrated damage sigmoid of one region.

    Attributes
    ----------
    region : str
        Calibration region, e.g. ``"NA2"`` (USA and Canada).
    v_half : float
        Wind (m/s) at which half of the value is lost.
    table : str
        Which calibration (``"TDR"`` or ``"RMSF"``).
    source : str
        The file it was read from.
    v_thresh : float
        Wind (m/s) below which nothing is lost.
    """

    region: str
    v_half: float
    table: str
    source: str
    v_thresh: float = V_THRESH

    def __call__(self, v) -> np.ndarray:
        """Damage ratio (fraction of value lost) at wind ``v`` (m/s)."""
        return _sigmoid(np.asarray(v, dtype=float), self.v_half, self.v_thresh)

    def describe(self) -> dict:
        """JSON-ready description."""
        return {"region": self.region, "v_half": self.v_half, "v_thresh": self.v_thresh,
                "table": self.table,
                "form": "vn^3/(1+vn^3), vn=max(v-v_thresh,0)/(v_half-v_thresh)"}


def _sigmoid(v: np.ndarray, v_half: float, v_thresh: float) -> np.ndarray:
    vn = np.maximum(v - v_thresh, 0.0) / (v_half - v_thresh)
    cube = vn ** 3
    return cube / (1.0 + cube)


def load_damage_curves(path: str | Path | None = None, table: str = "TDR") -> dict[str, float]:
    """Read a calibrated damage-curve table: region -> ``v_half`` (m/s).

    Parameters
    ----------
    path : str or Path, optional
        A CSV with columns ``cal_region2`` and ``v_half``. Default: the bundled
        table named by ``table``.
    table : {"TDR", "RMSF"}
        Which bundled calibration to read when ``path`` is not given.

    Raises
    ------
    DataFileError
        Missing file or column, a value that is not a number above the
        threshold wind, a region listed twice.
    """
    path = _curve_path(path, table)
    rows = _read_csv_rows(path)
    curves: dict[str, float] = {}
    for k, row in enumerate(rows, start=2):
        region, v_half = _curve_row(path, k, row)
        if region in curves:
            raise DataFileError(f"{path.name}: line {k}.cal_region2", region,
                                "each region listed once", "remove the duplicate row")
        curves[region] = v_half
    if not curves:
        raise DataFileError(path.name, "no rows", "at least one region",
                            "use a calibration table with rows")
    return curves


def _curve_path(path, table: str) -> Path:
    if path is not None:
        return Path(path)
    if table not in _CURVE_FILES:
        raise UnsupportedError("damage_curve", table, f"one of {sorted(_CURVE_FILES)}",
                                    "choose a bundled calibration table")
    return bundled_data_path(_CURVE_FILES[table])


def _read_csv_rows(path: Path) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            rows = list(reader)
    except FileNotFoundError:
        raise DataFileError(str(path), "missing", "an existing damage-curve table",
                            "check the path") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataFileError(str(path), str(exc), "a UTF-8 CSV file",
                            "give the calibration table as CSV") from None
    missing = [c for c in ("cal_region2", "v_half") if c not in fields]
    if missing:
        raise DataFileError(f"{path.name}: header", fields, "columns cal_region2 and v_half",
                            f"add the column(s) {', '.join(missing)}")
    return rows


def _curve_row(path: Path, line: int, row: dict) -> tuple[str, float]:
    region = (row.get("cal_region2") or "").strip()
    if not region:
        raise DataFileError(f"{path.name}: line {line}.cal_region2", region,
                            "a region code such as NA2", "fill in the region")
    text = row.get("v_half")
    try:
        v_half = float(text)
    except (TypeError, ValueError):
        raise DataFileError(f"{path.name}: line {line}.v_half", text, "a number (m/s)",
                            "write v_half as a number") from None
    if not np.isfinite(v_half) or v_half <= V_THRESH:
        raise DataFileError(f"{path.name}: line {line}.v_half", v_half,
                            f"a finite wind above the threshold {V_THRESH} m/s",
                            "check the calibration table")
    return region, v_half


def damage_curve(region: str = "NA2", table: str = "TDR",
                 path: str | Path | None = None) -> DamageCurve:
    """The damage sigmoid of ``region`` from a calibration table (default: bundled TDR)."""
    curves = load_damage_curves(path, table)
    if region not in curves:
        raise UnsupportedError("damage_curve.region", region,
                                    f"regions in the table: {', '.join(curves)}",
                                    "choose a listed region (Florida: NA2)")
    source = str(path) if path is not None else _CURVE_FILES[table]
    return DamageCurve(region, curves[region], table, source)


def damage_ratio(v, v_half: float | None = None) -> np.ndarray:
    """Fraction of value lost at wind ``v`` (m/s).

    ``v_n = max(v − 25.7, 0)/(v_half − 25.7)``, ratio ``v_n³/(1 + v_n³)``.
    ``v_half=None`` reads the North-Atlantic ``NA2`` value from the bundled TDR
    table (89.2 m/s).
    """
    if v_half is None:
        v_half = damage_curve("NA2", "TDR").v_half
    if not np.isfinite(v_half) or v_half <= V_THRESH:
        raise UnsupportedError("v_half", v_half, f"a finite wind above {V_THRESH} m/s",
                                    "give the half-damage wind in m/s")
    return _sigmoid(np.asarray(v, dtype=float), float(v_half), V_THRESH)


# --------------------------------------------------------------------------- the hazard
@dataclass(frozen=True, eq=False)
class Hazard:
    """A probabilistic storm set on a grid.

    Attributes
    ----------
    intensity : scipy.sparse.csc_matrix, shape (E, C)
        Wind (m/s) of each storm at each cell; zero where the storm is absent.
    lat, lon : ndarray, shape (C,)
        Cell centres in degrees.
    year : ndarray of int, shape (E,)
        Catalogue year of each storm.
    member : ndarray of int, shape (E,)
        ``e % 10``: 0 for the observed storm, 1–9 for synthetic variants.
    source : str
        File it was read from.
    sha256 : str
        Digest of that file.
    units : str
        Unit of the intensity.
    """

    intensity: sparse.csc_matrix
    lat: np.ndarray
    lon: np.ndarray
    year: np.ndarray
    member: np.ndarray
    source: str = "arrays"
    sha256: str = ""
    units: str = "m/s"

    @property
    def n_events(self) -> int:
        """Number of storms ``E``."""
        return self.intensity.shape[0]

    @property
    def n_centroids(self) -> int:
        """Number of grid cells ``C``."""
        return self.intensity.shape[1]

    @property
    def first_year(self) -> int:
        """First catalogue year."""
        return int(self.year.min())

    @property
    def n_years(self) -> int:
        """Catalogue years spanned, first to last."""
        return int(self.year.max()) - self.first_year + 1

    def simulated_year(self, members: str = "all") -> np.ndarray:
        """Index of each storm's simulated year, shape (E,); ``-1`` for storms left out."""
        offset = self.year - self.first_year
        if members == "all":
            return offset * MEMBERS_PER_TRACK + self.member
        return np.where(self.member == 0, offset, -1)

    def describe(self) -> dict:
        """JSON-ready summary."""
        return {"source": self.source, "sha256": self.sha256, "events": self.n_events,
                "centroids": self.n_centroids, "years": [self.first_year,
                                                         self.first_year + self.n_years - 1],
                "members_per_track": MEMBERS_PER_TRACK, "units": self.units}


def load_florida_hazard(path: str | Path | None = None) -> Hazard:
    """Read the MATLAB v7.3 (HDF5) hazard file of the bundled Florida storm set.

    Parameters
    ----------
    path : str or Path, optional
        The ``.mat`` file; default the bundled ``atl_prob_nonames.mat`` (its
        sha256 is checked against the documented one).

    Raises
    ------
    DataFileError
        The file is missing, not HDF5, lacks a group or array, has shapes that
        disagree, or values that cannot be winds, years or member numbers.
    """
    bundled = path is None
    path = bundled_data_path(_HAZARD_FILE) if bundled else Path(path)
    digest = _sha256(path)
    if bundled and digest != BUNDLED_HAZARD_SHA256:
        raise DataFileError(str(path), digest, f"sha256 {BUNDLED_HAZARD_SHA256}",
                            "reinstall riskshare: the bundled hazard file was altered")
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise DataFileError(str(path), f"not readable as HDF5 ({exc})",
                            "a MATLAB v7.3 (HDF5) hazard file",
                            "give the .mat hazard file") from None
    with fh:
        group = _group(fh, "hazard", path)
        intensity = _read_sparse(group, path)
        lat, lon = (_vector(group, key, path, intensity.shape[1]) for key in ("lat", "lon"))
        year = _vector(group, "yyyy", path, intensity.shape[0])
        flags = _vector(group, "orig_event_flag", path, intensity.shape[0], required=False)
    year, member = _members(year, flags, path)
    _check_grid(lat, lon, path)
    return Hazard(intensity, lat, lon, year, member, str(path), digest)


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        raise DataFileError(str(path), "missing", "an existing hazard file",
                            "check the path") from None
    except IsADirectoryError:
        raise DataFileError(str(path), "a directory", "a hazard file",
                            "give the .mat file itself") from None


def _group(parent, key: str, path: Path):
    node = parent.get(key)
    if not isinstance(node, h5py.Group):
        raise DataFileError(f"{path.name}:/{parent.name.strip('/')}/{key}".replace("//", "/"),
                            "missing" if node is None else type(node).__name__,
                            "an HDF5 group", "use a CLIMADA-MATLAB hazard file (group /hazard)")
    return node


def _dataset(group, key: str, path: Path, required: bool = True):
    node = group.get(key)
    if node is None and not required:
        return None
    if not isinstance(node, h5py.Dataset):
        raise DataFileError(f"{path.name}:{group.name}/{key}",
                            "missing" if node is None else type(node).__name__,
                            "an HDF5 array", "use a CLIMADA-MATLAB hazard file")
    return node[()]


def _read_sparse(group, path: Path) -> sparse.csc_matrix:
    """The MATLAB sparse matrix ``intensity`` (CSC: data, row indices ir, column pointers jc)."""
    node = _group(group, "intensity", path)
    field = f"{path.name}:{node.name}"
    data = np.asarray(_dataset(node, "data", path), dtype=float).ravel()
    rows = np.asarray(_dataset(node, "ir", path)).ravel()
    ptr = np.asarray(_dataset(node, "jc", path)).ravel()
    n_rows = node.attrs.get("MATLAB_sparse")
    if n_rows is None:
        raise DataFileError(f"{field}.MATLAB_sparse", "missing", "the number of events",
                            "save the intensity as a MATLAB sparse matrix")
    n_rows, n_cols = int(n_rows), ptr.size - 1
    _check_csc(field, data, rows, ptr, n_rows)
    return sparse.csc_matrix((data, rows.astype(np.int64), ptr.astype(np.int64)),
                             shape=(n_rows, n_cols))


def _check_csc(field: str, data, rows, ptr, n_rows: int) -> None:
    if ptr.size < 2 or rows.size != data.size:
        raise DataFileError(field, (data.size, rows.size, ptr.size),
                            "data and ir of equal length, jc of length C + 1",
                            "the sparse matrix is truncated")
    if ptr[0] != 0 or ptr[-1] != data.size or np.any(np.diff(ptr.astype(np.int64)) < 0):
        raise DataFileError(f"{field}/jc", ptr[[0, -1]].tolist(),
                            f"nondecreasing column pointers from 0 to {data.size}",
                            "the sparse matrix is corrupt")
    if rows.size and (rows.min() < 0 or rows.max() >= n_rows):
        raise DataFileError(f"{field}/ir", [int(rows.min()), int(rows.max())],
                            f"row indices in [0, {n_rows})", "the sparse matrix is corrupt")
    if not np.all(np.isfinite(data)) or np.any(data < 0):
        raise DataFileError(f"{field}/data", "negative or non-finite wind",
                            "winds >= 0 m/s", "the intensity values are corrupt")


def _vector(group, key: str, path: Path, size: int, required: bool = True):
    raw = _dataset(group, key, path, required)
    if raw is None:
        return None
    vec = np.asarray(raw, dtype=float).ravel()
    if vec.size != size:
        per = "cell" if key in ("lat", "lon") else "storm"
        raise DataFileError(f"{path.name}:{group.name}/{key}", vec.size,
                            f"{size} entries (one per {per})",
                            "the arrays of the hazard file disagree in shape")
    if not np.all(np.isfinite(vec)):
        raise DataFileError(f"{path.name}:{group.name}/{key}", "NaN or infinity",
                            "finite values", "the hazard file is corrupt")
    return vec


def _members(year: np.ndarray, flags, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Years as integers and member numbers ``e % 10``, checked against the file's flags."""
    n = year.size
    field = f"{path.name}:/hazard/yyyy"
    if n % MEMBERS_PER_TRACK:
        raise DataFileError(field, n, f"a multiple of {MEMBERS_PER_TRACK} storms",
                            "each track needs its observed storm and 9 variants")
    if np.any(year != np.round(year)) or year.min() < 1000 or year.max() > 3000:
        raise DataFileError(field, [year.min(), year.max()], "whole calendar years",
                            "the year array is corrupt")
    member = np.arange(n) % MEMBERS_PER_TRACK
    track_year = year.reshape(-1, MEMBERS_PER_TRACK)
    if np.any(track_year != track_year[:, :1]):
        raise DataFileError(field, "members of one track in different years",
                            "the 10 members of a track share their year",
                            "use a file with storms ordered track by track")
    if flags is not None and np.any((flags != 0) != (member == 0)):
        raise DataFileError(f"{path.name}:/hazard/orig_event_flag", "flags off the pattern",
                            "1 exactly at storms 0, 10, 20, ... (the observed ones)",
                            "use a file with storms ordered track by track")
    return year.astype(np.int64), member


def _check_grid(lat: np.ndarray, lon: np.ndarray, path: Path) -> None:
    if np.any(np.abs(lat) > 90) or np.any(np.abs(lon) > 360):
        raise DataFileError(f"{path.name}:/hazard/lat,lon", [lat.min(), lat.max()],
                            "latitudes in [-90, 90], longitudes in [-360, 360]",
                            "the grid coordinates are corrupt")


# --------------------------------------------------------------------------- sites
@dataclass(frozen=True)
class Site:
    """A farm: where it is and what it would lose at most (the insured value)."""

    latitude: float
    longitude: float
    value: float
    name: str = ""


def _as_site(item, field: str) -> Site:
    if isinstance(item, Site):
        site = item
    elif isinstance(item, Mapping):
        site = Site(item.get("latitude"), item.get("longitude"), item.get("value"))
    else:
        try:
            lat, lon, value = item
        except (TypeError, ValueError):
            raise SiteError(field, item, "a Site, a mapping or (latitude, longitude, "
                                   "value)", "describe the farm by its place and value") from None
        site = Site(lat, lon, value)
    _check_site(site, field)
    return site


def _check_site(site: Site, field: str) -> None:
    checks = (("latitude", site.latitude, -90.0, 90.0), ("longitude", site.longitude,
                                                          -180.0, 180.0))
    for key, x, lo, hi in checks:
        if not _is_number(x) or not lo <= x <= hi:
            raise SiteError(f"{field}.{key}", x, f"a number in [{lo}, {hi}] degrees",
                                        "give decimal degrees (west longitudes negative)")
    if not _is_number(site.value) or not site.value > 0 or not np.isfinite(site.value):
        raise SiteError(f"{field}.value", site.value, "a finite amount > 0",
                                    "give the insured value in the pool's money")


def _is_number(x) -> bool:
    return isinstance(x, int | float | np.number) and not isinstance(x, bool) and np.isfinite(x)


def _unit_vectors(lat, lon) -> np.ndarray:
    la, lo = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


def nearest_centroids(hazard: Hazard, lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """Nearest grid cell of each point by great-circle distance.

    Returns the cell indices and the distances in km. The nearest cell is the
    one whose unit vector has the largest dot product with the point's; ties
    go to the lower index.
    """
    points = _unit_vectors(np.atleast_1d(lat), np.atleast_1d(lon))
    cells = _unit_vectors(hazard.lat, hazard.lon)
    cosines = np.clip(points @ cells.T, -1.0, 1.0)
    index = np.argmax(cosines, axis=1)
    chord = np.linalg.norm(points - cells[index], axis=1)
    distance = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(chord / 2.0, 1.0))
    return index, distance


# --------------------------------------------------------------------------- annual losses
def year_labels(hazard: Hazard, members: str = "all") -> tuple[str, ...]:
    """Names of the simulated years: ``"1992 observed"``, ``"1992 variant 4"``."""
    _check_members(members)
    years = range(hazard.first_year, hazard.first_year + hazard.n_years)
    if members == "historical":
        return tuple(f"{y} observed" for y in years)
    return tuple(f"{y} observed" if k == 0 else f"{y} variant {k}"
                 for y in years for k in range(MEMBERS_PER_TRACK))


def _check_members(members: str) -> None:
    if members not in ("all", "historical"):
        raise UnsupportedError("members", members, "'all' (1,610 years) or 'historical' "
                               "(161 years, observed storms only)", "choose one of the two")


def annual_losses(hazard: Hazard, sites: Sequence, members: str = "all",
                  curve: str | DamageCurve = "TDR", fields: Sequence[str] | None = None,
                  max_distance_km: float = MAX_SITE_DISTANCE_KM,
                  ) -> tuple[np.ndarray, tuple[str, ...]]:
    """Loss of each farm in each simulated year.

    Parameters
    ----------
    hazard : Hazard
        The storm set (:func:`load_florida_hazard`).
    sites : sequence of Site, mappings ``{latitude, longitude, value}`` or triples
        The farms.
    members : {"all", "historical"}
        All 10 members per catalogue year (1,610 years) or the observed storms
        only (161 years).
    curve : {"TDR", "RMSF"} or DamageCurve
        Calibration table of the NA2 damage sigmoid, or a curve.
    fields : sequence of str, optional
        Names of the sites for error messages (default ``sites[k]``).
    max_distance_km : float
        A site farther than this from every cell is outside the data.

    Returns
    -------
    losses : ndarray, shape (years, sites)
        Annual losses, ``>= 0`` and at most each site's value.
    labels : tuple of str
        Name of each simulated year (:func:`year_labels`).

    Raises
    ------
    UnsupportedError, UnsupportedError
        A site without a valid place or value, or outside the grid.
    """
    _check_members(members)
    fields = list(fields) if fields is not None else [f"sites[{k}]" for k in range(len(sites))]
    sites = [_as_site(s, f) for s, f in zip(sites, fields, strict=True)]
    f = curve if isinstance(curve, DamageCurve) else damage_curve("NA2", curve)
    cells = _site_cells(hazard, sites, fields, max_distance_km)
    values = np.array([s.value for s in sites], dtype=float)

    ratio = _event_ratios(hazard, cells, f)
    losses = _sum_by_year(hazard, ratio, members) * values
    return np.minimum(losses, values), year_labels(hazard, members)


def _site_cells(hazard, sites, fields, max_distance_km) -> np.ndarray:
    if not sites:
        return np.zeros(0, dtype=int)
    cells, dist = nearest_centroids(hazard, [s.latitude for s in sites],
                                    [s.longitude for s in sites])
    far = np.flatnonzero(dist > max_distance_km)
    if far.size:
        k = int(far[0])
        raise SiteError(f"{fields[k]}", (sites[k].latitude, sites[k].longitude),
                               f"a place within {max_distance_km:.0f} km of the hazard grid "
                               f"(lat {hazard.lat.min():g}..{hazard.lat.max():g}, lon "
                               f"{hazard.lon.min():g}..{hazard.lon.max():g}); nearest cell is "
                               f"{dist[k]:.0f} km away", "place the farm inside the grid")
    return cells


def _event_ratios(hazard: Hazard, cells: np.ndarray, f: DamageCurve) -> sparse.csc_matrix:
    """Damage ratio of every storm at each site's cell, (E, sites), sparse."""
    wind = hazard.intensity[:, cells].tocsc()
    ratio = wind.copy()
    ratio.data = f(wind.data)
    ratio.eliminate_zeros()
    return ratio


def _sum_by_year(hazard: Hazard, ratio: sparse.csc_matrix, members: str) -> np.ndarray:
    """Sum rows of ``ratio`` into simulated years: (years, sites)."""
    year = hazard.simulated_year(members)
    keep = year >= 0
    n_years = hazard.n_years * (MEMBERS_PER_TRACK if members == "all" else 1)
    onto = sparse.csr_matrix((np.ones(int(keep.sum())), (year[keep], np.flatnonzero(keep))),
                             shape=(n_years, hazard.n_events))
    return np.asarray((onto @ ratio).toarray())
