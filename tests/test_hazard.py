"""The bundled Florida hazard: loader, damage curve, annual scenarios.

Reference values: counts and grid layout from the data's provenance note
(shared/data/climada_florida_tc/PROVENANCE.md); the damage curve from the
calibration table (Eberenz, Lüthi & Bresch 2021, region NA2, TDR: 89.2 m/s);
annual losses recomputed here by a plain loop over storms.
"""

from __future__ import annotations

import shutil
from collections import defaultdict

import h5py
import numpy as np
import pytest
from scipy import sparse

from riskshare import DataFileError, SiteError, UnsupportedError
from riskshare.io import hazard as hz

HOMESTEAD = (25.4687, -80.4776, 3.5e6)


@pytest.fixture(scope="module")
def florida():
    return hz.load_florida_hazard()


# --------------------------------------------------------------------------- the file
def test_counts_and_grid(florida):
    assert florida.n_events == 14_450
    assert florida.n_centroids == 100
    assert florida.intensity.nnz == 116_581
    k = np.arange(100)
    np.testing.assert_array_equal(florida.lon, -84 + k // 10)
    np.testing.assert_array_equal(florida.lat, 21 + k % 10)
    assert (florida.first_year, florida.n_years) == (1851, 161)
    assert florida.sha256 == hz.BUNDLED_HAZARD_SHA256


def test_winds_in_documented_range(florida):
    data = florida.intensity.data
    assert data.min() > 0 and data.max() == pytest.approx(105.7, abs=0.05)


def test_members_follow_event_index(florida):
    e = np.arange(florida.n_events)
    np.testing.assert_array_equal(florida.member, e % 10)
    np.testing.assert_array_equal(florida.year, florida.year[10 * (e // 10)])


def test_year_counts_match_file_yearset(florida):
    """Storms per simulated year against the file's own yearset (an independent record)."""
    with h5py.File(hz.bundled_data_path("atl_prob_nonames.mat"), "r") as f:
        refs = f["hazard/orig_yearset/event_count"][()].ravel()
        expected = np.array([f[r][()].item() for r in refs])
    sim = florida.simulated_year("all")
    counts = np.bincount(sim, minlength=1610)
    assert counts.size == 1610 and counts.sum() == 14_450
    np.testing.assert_array_equal(counts.reshape(161, 10), np.repeat(expected[:, None], 10, 1))
    hist = florida.simulated_year("historical")
    assert np.bincount(hist[hist >= 0], minlength=161).sum() == 1_445
    np.testing.assert_array_equal(np.bincount(hist[hist >= 0], minlength=161), expected)


def test_year_labels(florida):
    labels = hz.year_labels(florida, "all")
    assert len(labels) == 1610 and len(set(labels)) == 1610
    assert labels[0] == "1851 observed" and labels[1] == "1851 variant 1"
    assert labels[(1992 - 1851) * 10 + 4] == "1992 variant 4"
    hist = hz.year_labels(florida, "historical")
    assert len(hist) == 161 and hist[-1] == "2011 observed"


# --------------------------------------------------------------------------- damage curve
def test_v_half_read_from_table():
    curves = hz.load_damage_curves()
    assert curves["NA2"] == pytest.approx(89.2, abs=1e-9)
    assert hz.load_damage_curves(table="RMSF")["NA2"] == pytest.approx(86.0, abs=1e-9)
    assert hz.damage_curve("NA1").v_half == pytest.approx(66.3, abs=1e-9)


@pytest.mark.parametrize(("wind", "ratio"), [
    (0.0, 0.0), (25.7, 0.0), (20.0, 0.0),
    (89.2, 0.5),                                   # v_half: half the value
    (25.7 + 2 * 63.5, 8.0 / 9.0),                  # v_n = 2
    (25.7 + 0.5 * 63.5, 0.125 / 1.125),            # v_n = 1/2
])
def test_damage_ratio_known_winds(wind, ratio):
    assert hz.damage_ratio(wind) == pytest.approx(ratio, rel=1e-12, abs=1e-15)


def test_damage_ratio_monotone_and_bounded():
    v = np.linspace(0, 300, 3001)
    r = hz.damage_ratio(v)
    assert np.all(np.diff(r) >= 0) and r.min() == 0 and r.max() < 1


def test_damage_ratio_rejects_bad_v_half():
    with pytest.raises(UnsupportedError) as err:
        hz.damage_ratio(50.0, v_half=20.0)
    assert err.value.field == "v_half"


@pytest.mark.parametrize(("text", "field"), [
    ("region,v_half\nNA2,89.2\n", "header"),
    ("cal_region2,v_half\nNA2,fast\n", "line 2.v_half"),
    ("cal_region2,v_half\nNA2,20.0\n", "line 2.v_half"),
    ("cal_region2,v_half\nNA2,89.2\nNA2,80.0\n", "line 3.cal_region2"),
    ("cal_region2,v_half\n,89.2\n", "line 2.cal_region2"),
], ids=["no-region-column", "not-a-number", "below-threshold", "duplicate", "empty-region"])
def test_broken_curve_table(tmp_path, text, field):
    path = tmp_path / "curves.csv"
    path.write_text(text)
    with pytest.raises(DataFileError) as err:
        hz.load_damage_curves(path)
    assert err.value.field.endswith(field)


def test_missing_curve_table(tmp_path):
    with pytest.raises(DataFileError, match="missing"):
        hz.load_damage_curves(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- nearest cell
def _haversine_km(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * hz.EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def test_nearest_cell_against_brute_force_haversine(florida):
    rng = np.random.default_rng(3)
    lat = rng.uniform(20.6, 30.4, 400)
    lon = rng.uniform(-84.4, -74.6, 400)
    index, dist = hz.nearest_centroids(florida, lat, lon)
    for a, b, k, d in zip(lat, lon, index, dist, strict=True):
        all_d = _haversine_km(a, b, florida.lat, florida.lon)
        assert all_d[k] == pytest.approx(all_d.min(), abs=1e-9)
        assert d == pytest.approx(all_d.min(), rel=1e-9)


def test_nearest_cell_of_homestead(florida):
    index, dist = hz.nearest_centroids(florida, HOMESTEAD[0], HOMESTEAD[1])
    assert (florida.lat[index[0]], florida.lon[index[0]]) == (25.0, -80.0)
    assert dist[0] == pytest.approx(_haversine_km(25.4687, -80.4776, 25.0, -80.0), rel=1e-9)


# --------------------------------------------------------------------------- annual losses
def _loop_losses(hz_set, site, members):
    """Annual losses of one farm by a plain loop over storms."""
    lat, lon, value = site
    d = _haversine_km(lat, lon, hz_set.lat, hz_set.lon)
    cell = int(np.argmin(d))
    wind = hz_set.intensity[:, cell].toarray().ravel()
    v_half = hz.load_damage_curves()["NA2"]
    totals = defaultdict(float)
    for e in np.flatnonzero(wind):
        y, k = int(hz_set.year[e]), int(hz_set.member[e])
        if members == "historical" and k != 0:
            continue
        vn = max(wind[e] - 25.7, 0.0) / (v_half - 25.7)
        slot = (y - 1851) * 10 + k if members == "all" else y - 1851
        totals[slot] += value * vn ** 3 / (1 + vn ** 3)
    size = 1610 if members == "all" else 161
    return np.array([min(totals.get(s, 0.0), value) for s in range(size)])


@pytest.mark.parametrize("members", ["all", "historical"])
def test_annual_losses_against_loop(florida, members):
    sites = [HOMESTEAD, (29.1872, -82.1401, 1.5e6)]
    losses, labels = hz.annual_losses(florida, sites, members)
    assert losses.shape == (1610 if members == "all" else 161, 2)
    assert len(labels) == losses.shape[0]
    for j, site in enumerate(sites):
        np.testing.assert_allclose(losses[:, j], _loop_losses(florida, site, members),
                                   rtol=1e-12, atol=1e-6)


def test_homestead_reference_values(florida):
    losses, _ = hz.annual_losses(florida, [HOMESTEAD])
    assert losses.mean() == pytest.approx(42_907.09, abs=0.01)     # computed by the loop above
    assert np.mean(losses > 0) == pytest.approx(0.159, abs=0.0005)
    assert np.all(losses >= 0) and np.all(losses <= 3.5e6)


def test_historical_is_member_zero_of_all(florida):
    every, _ = hz.annual_losses(florida, [HOMESTEAD], "all")
    hist, _ = hz.annual_losses(florida, [HOMESTEAD], "historical")
    np.testing.assert_allclose(hist, every[::10], rtol=1e-13)


def _toy_hazard(winds_per_event, years, cells=((25.0, -80.0), (30.0, -84.0))):
    """Two cells; storms given as (E, 2) winds; 10 members per track."""
    I = sparse.csc_matrix(np.asarray(winds_per_event, dtype=float))
    lat = np.array([c[0] for c in cells], dtype=float)
    lon = np.array([c[1] for c in cells], dtype=float)
    e = np.arange(I.shape[0])
    return hz.Hazard(I, lat, lon, np.asarray(years), e % 10)


def test_loss_capped_at_value():
    winds = np.zeros((20, 2))
    winds[0, 0] = winds[10, 0] = 120.0       # two observed storms in 2000, each > half
    hset = _toy_hazard(winds, [2000] * 20)
    losses, labels = hz.annual_losses(hset, [(25.0, -80.0, 1000.0)])
    one = hz.damage_ratio(120.0) * 1000.0
    assert one > 500.0
    assert losses.shape == (10, 1) and losses[0, 0] == 1000.0
    assert np.all(losses[1:] == 0) and labels[0] == "2000 observed"


def test_farm_far_from_any_storm():
    winds = np.zeros((20, 2))
    winds[:, 0] = 90.0                       # every storm at the first cell only
    hset = _toy_hazard(winds, [2000] * 10 + [2001] * 10)
    losses, _ = hz.annual_losses(hset, [(30.1, -84.1, 5e5), (25.0, -80.0, 5e5)])
    assert np.all(losses[:, 0] == 0.0)
    assert np.all(losses[:, 1] > 0)


def test_site_outside_the_grid_is_an_error(florida):
    with pytest.raises(SiteError) as err:
        hz.annual_losses(florida, [HOMESTEAD, (61.2, -149.9, 1e6)])
    assert err.value.field == "sites[1]"
    assert "km" in str(err.value)


@pytest.mark.parametrize(("site", "field"), [
    ((95.0, -80.0, 1e6), "sites[0].latitude"),
    ((25.0, -200.0, 1e6), "sites[0].longitude"),
    ((25.0, -80.0, 0.0), "sites[0].value"),
    ((25.0, -80.0, float("nan")), "sites[0].value"),
    ({"latitude": 25.0, "longitude": -80.0}, "sites[0].value"),
])
def test_bad_site(florida, site, field):
    with pytest.raises(SiteError) as err:
        hz.annual_losses(florida, [site])
    assert err.value.field == field


def test_unknown_members(florida):
    with pytest.raises(UnsupportedError) as err:
        hz.annual_losses(florida, [HOMESTEAD], members="synthetic")
    assert err.value.field == "members"


# --------------------------------------------------------------------------- broken files
def _write_hazard(path, n_events=20, n_cells=3, **override):
    """A small file in the MATLAB v7.3 layout; ``override`` replaces or drops arrays."""
    rng = np.random.default_rng(0)
    shape = (n_events, n_cells)
    dense = np.where(rng.random(shape) < 0.4, rng.uniform(10, 80, shape), 0.0)
    M = sparse.csc_matrix(dense)
    arrays = {
        "intensity/data": M.data, "intensity/ir": M.indices.astype(np.uint64),
        "intensity/jc": M.indptr.astype(np.uint64),
        "lat": np.linspace(25, 27, n_cells)[:, None],
        "lon": np.linspace(-81, -80, n_cells)[:, None],
        "yyyy": np.repeat(2000 + np.arange(n_events // 10), 10)[:, None].astype(float),
        "orig_event_flag": (np.arange(n_events) % 10 == 0)[:, None].astype(float),
    }
    arrays.update(override)
    with h5py.File(path, "w") as f:
        g = f.create_group("hazard")
        for key, value in arrays.items():
            if value is not None:
                g[key] = value
        if "intensity" in g:
            g["intensity"].attrs["MATLAB_sparse"] = np.uint64(n_events)
    return dense


def test_small_valid_file_round_trip(tmp_path):
    path = tmp_path / "toy.mat"
    dense = _write_hazard(path)
    hset = hz.load_florida_hazard(path)
    np.testing.assert_array_equal(hset.intensity.toarray(), dense)
    assert hset.n_years == 2 and list(hset.member[:11]) == [*range(10), 0]


@pytest.mark.parametrize(("override", "field"), [
    ({"lat": None}, "/hazard/lat"),
    ({"intensity/jc": np.array([0, 1], dtype=np.uint64)}, "intensity/jc"),
    ({"lat": np.zeros((5, 1))}, "/hazard/lat"),
    ({"yyyy": np.arange(20.0)[:, None]}, "/hazard/yyyy"),
    ({"yyyy": np.full((19, 1), 2000.0)}, "/hazard/yyyy"),
    ({"orig_event_flag": np.ones((20, 1))}, "orig_event_flag"),
    ({"intensity/ir": np.full(1, 99, dtype=np.uint64)}, "intensity"),
], ids=["no-lat", "jc-truncated", "lat-wrong-length", "members-split-years", "short-years",
        "flags-off-pattern", "ir-data-mismatch"])
def test_broken_hdf5_is_data_file_error(tmp_path, override, field):
    path = tmp_path / "broken.mat"
    _write_hazard(path, **override)
    with pytest.raises(DataFileError) as err:
        hz.load_florida_hazard(path)
    assert field in err.value.field


def test_file_without_hazard_group(tmp_path):
    path = tmp_path / "empty.mat"
    with h5py.File(path, "w") as f:
        f.create_group("other")
    with pytest.raises(DataFileError) as err:
        hz.load_florida_hazard(path)
    assert err.value.field.endswith("/hazard")


def test_not_hdf5(tmp_path):
    path = tmp_path / "fake.mat"
    path.write_text("MATLAB 5.0 MAT-file, not really\n")
    with pytest.raises(DataFileError, match="HDF5"):
        hz.load_florida_hazard(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataFileError, match="missing"):
        hz.load_florida_hazard(tmp_path / "none.mat")


def test_altered_bundled_file_is_refused(tmp_path, monkeypatch):
    copy = tmp_path / "atl_prob_nonames.mat"
    shutil.copy(hz.bundled_data_path("atl_prob_nonames.mat"), copy)
    with open(copy, "ab") as fh:
        fh.write(b"\0")
    monkeypatch.setattr(hz, "bundled_data_path", lambda name: tmp_path / name)
    with pytest.raises(DataFileError, match="sha256"):
        hz.load_florida_hazard()


def test_known_limits_cover_the_three_caveats():
    text = " ".join(hz.KNOWN_LIMITS).lower()
    assert "not independent" in text
    assert "weaken too little over land" in text
    assert "1 degree" in text and "no land mask" in text
