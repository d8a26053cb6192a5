"""Settlement in integer units (riskshare.settlement), spec §10.

Hand-worked amounts below are our own derivations of the documented rule:
floor every amount, hand the leftover units to the largest fractional parts,
equal parts ranked by agent order.
"""

import json
import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskshare import RecordTamperedError, SettlementError, ShapeError
from riskshare.settlement import (
    Ledger,
    SettlementPlan,
    SettlementRecord,
    apportion,
    replay,
    round_amounts,
    settle,
    settle_all,
    settlement_plan,
    to_units,
    transfers,
)

NAMES = ("ann", "bob", "cy", "dee")


def _plan_from_receipts(r, names=None, unit=0.01, **kw):
    """A plan whose receipts are ``r`` (n, m): X = 0, Y* = r, t = 0."""
    r = np.asarray(r, dtype=float)
    names = names or [f"a{i}" for i in range(r.shape[0])]
    return settlement_plan(np.zeros_like(r), r, np.zeros(r.shape[0]), names, unit=unit, **kw)


def _random_plan(rng, n, m, scale=1e4):
    X = -rng.exponential(scale, size=(n, m)) * (rng.random((n, m)) < 0.3)
    shares = rng.dirichlet(np.ones(n), size=m).T
    Y = shares * X.sum(axis=0)
    t = rng.normal(scale=scale / 10, size=n)
    t -= t.mean()
    return settlement_plan(X, Y, t, [f"farm{i}" for i in range(n)])


@pytest.mark.parametrize("receipts, expected", [
    ([0.005, 0.005, -0.01], [1, 0, -1]),              # half-cent tie: earlier agent
    ([0.005, -0.01, 0.005], [1, -1, 0]),
    ([-0.01, 0.005, 0.005], [-1, 1, 0]),
    ([1 / 3, 1 / 3, 1 / 3, -1.0], [34, 33, 33, -100]),
    ([0.004, 0.004, 0.002, -0.01], [1, 0, 0, -1]),    # largest remainder, then order
    ([0.002, 0.004, 0.004, -0.01], [0, 1, 0, -1]),
    ([-0.005, 0.005], [0, 0]),                         # -0.5 -> floor -1, +1 back: 0 and 0
    ([0.07, -0.07], [7, -7]),                          # float noise snapped, no stray cent
    ([12.345, -12.345], [1235, -1235]),                # 1234.5 units: floor 1234 + 1 back
], ids=["half-tie-12", "half-tie-13", "half-tie-23", "thirds", "0.4-0.4-0.2", "0.2-0.4-0.4",
        "half-pair", "noise", "half-pair-large"])
def test_rounding_rule_by_hand(receipts, expected):
    plan = _plan_from_receipts(np.array(receipts)[:, None])
    rec = settle(plan, 0)
    assert list(rec.payments_units) == expected
    assert sum(rec.payments_units) == 0


def test_payments_as_exact_decimal_text():
    rec = settle(_plan_from_receipts([[12.345], [-12.345]]), 0)
    assert rec.payments == ("12.35", "-12.35")
    assert [Decimal(p) for p in rec.payments] == [Decimal("12.35"), Decimal("-12.35")]


def test_collateral_by_hand():
    # Agent 0 owes 0.071 in state 0 (7.1 cents -> 8) and receives in state 1;
    # agent 1 owes exactly 0.07 in state 1 (7 cents, no float-noise cent);
    # agent 2 never owes: collateral 0.
    r = [[-0.071, 0.07], [0.041, -0.07], [0.03, 0.0]]
    plan = _plan_from_receipts(r)
    assert plan.collateral_units.tolist() == [8, 7, 0]
    np.testing.assert_allclose(plan.collateral, [0.08, 0.07, 0.0])


def test_receipts_follow_spec():
    X = np.array([[-10.0, 0.0], [0.0, -4.0]])
    Y = np.array([[-5.0, -2.0], [-5.0, -2.0]])
    t = np.array([1.5, -1.5])
    plan = settlement_plan(X, Y, t, ["a", "b"])
    np.testing.assert_allclose(plan.receipts, [[6.5, -0.5], [-6.5, 0.5]])
    assert plan.collateral_units.tolist() == [50, 650]


def test_money_conservation_on_1e5_states():
    rng = np.random.default_rng(2026)
    plan = _random_plan(rng, 9, 100_000)
    pay = settle_all(plan)
    a = plan.receipt_units.T

    assert pay.dtype == np.int64 and pay.shape == (100_000, 9)
    assert np.all(pay.sum(axis=1) == 0)                                # no unit created/lost
    assert np.all(np.abs(pay - a) < 1)                                 # within one unit
    assert np.all(-pay <= plan.collateral_units)                       # never above collateral
    debt = np.ceil(np.max(-plan.receipts / 0.01, axis=1))              # independent collateral
    np.testing.assert_array_equal(plan.collateral_units, np.maximum(debt, 0))
    bonus = pay - np.floor(a)                                          # 0 or 1 each
    assert set(np.unique(bonus)) <= {0, 1}
    assert np.all(bonus.sum(axis=1) == -np.floor(a).sum(axis=1))       # leftover handed out
    for k in rng.integers(0, 100_000, size=5):
        assert list(settle(plan, int(k)).payments_units) == pay[k].tolist()


def test_largest_remainder_and_tie_order_on_half_units():
    # Amounts in half units: many exact ties. Whoever gets a leftover unit has a
    # remainder at least that of anyone who does not, and among equal remainders
    # the earlier agents get them first.
    rng = np.random.default_rng(3)
    half = rng.integers(-400, 400, size=(20_000, 6)).astype(float) / 2
    half[:, -1] = -half[:, :-1].sum(axis=1)
    pay = apportion(half)
    frac = half - np.floor(half)
    got = pay - np.floor(half) == 1
    assert np.all(pay.sum(axis=1) == 0)
    for row in range(0, 20_000, 97):
        if got[row].any() and (~got[row]).any():
            assert frac[row][got[row]].min() >= frac[row][~got[row]].max()
        for i in range(6):
            for j in range(i + 1, 6):
                if frac[row, i] == frac[row, j] and got[row, j]:
                    assert got[row, i]


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6).flatmap(lambda n: st.lists(
    st.lists(st.integers(-10**7, 10**7), min_size=n, max_size=n), min_size=1, max_size=5)),
    st.sampled_from([0.01, 0.05, 1.0]))
def test_properties_on_tenth_of_unit_amounts(rows, unit):
    # Receipts in tenths of a unit (half-unit ties included), balanced per state.
    r = np.array(rows, dtype=float).T / 10 * unit
    r[-1] = -r[:-1].sum(axis=0)
    plan = _plan_from_receipts(r, unit=unit)
    pay = settle_all(plan)
    assert np.all(pay.sum(axis=1) == 0)
    assert np.all(-pay <= plan.collateral_units)
    assert np.all(np.abs(pay - plan.receipt_units.T) < 1)


def test_transfers_net_payers_to_receivers():
    pay = [5, -3, 0, -4, 2]
    names = ["a", "b", "c", "d", "e"]
    out = transfers(pay, names)
    assert out == [{"from": "b", "to": "a", "units": 3}, {"from": "d", "to": "a", "units": 2},
                   {"from": "d", "to": "e", "units": 2}]
    net = {x: 0 for x in names}
    for t in out:
        net[t["from"]] -= t["units"]
        net[t["to"]] += t["units"]
    assert [net[x] for x in names] == pay


def test_record_round_trip_and_replay_twice():
    plan = _random_plan(np.random.default_rng(4), 5, 50)
    rec = settle(plan, 17)
    text = rec.to_json()
    back = SettlementRecord.from_json(text)

    assert back.digest == rec.digest and back.record_id == rec.record_id
    first, second = replay(back, plan), replay(back, plan)
    assert first.to_json() == second.to_json() == text
    assert settle(plan, 17).record_id == rec.record_id                 # same id every time
    assert settle(plan, 18).record_id != rec.record_id


def test_ledger_pays_once():
    plan = _random_plan(np.random.default_rng(5), 4, 20)
    rec = settle(plan, 3)
    ledger = Ledger()

    assert ledger.apply(rec) is True
    balances = dict(ledger.balances)
    assert ledger.apply(SettlementRecord.from_json(rec.to_json())) is False
    assert ledger.balances == balances == dict(zip(plan.names, rec.payments_units, strict=True))
    assert sum(balances.values()) == 0
    with pytest.raises(SettlementError, match="already settled"):
        ledger.apply(settle(plan, 4))


def _tamper(text, edit):
    data = json.loads(text)
    edit(data)
    return json.dumps(data)


def _forge(data, plan_digest=None):
    """Rewrite payments consistently and recompute the digest, as a forger would."""
    from riskshare.settlement import _record_digest
    body = {k: v for k, v in data.items() if k != "digest"}
    data["digest"] = _record_digest(body)


@pytest.mark.parametrize("edit", [
    lambda d: d["payments_units"].__setitem__(0, d["payments_units"][0] + 1),
    lambda d: d["payments"].__setitem__(0, "0.00"),
    lambda d: d["receipts"].__setitem__(1, d["receipts"][1] + 0.01),
    lambda d: d["collateral_units"].__setitem__(0, 0),
    lambda d: d.__setitem__("digest", "0" * 64),
    lambda d: d.__setitem__("scenario", 3),
    lambda d: d.__setitem__("note", "pay me"),
    lambda d: d["transfers"].reverse(),
    lambda d: d.pop("rule"),
    lambda d: (d["payments_units"].__setitem__(0, d["payments_units"][0] + 1),
               d["payments_units"].__setitem__(1, d["payments_units"][1] - 1), _forge(d)),
], ids=["payment", "payment-text", "receipt", "collateral", "digest", "scenario", "extra-field",
        "transfers", "missing-field", "forged-digest"])
def test_altered_record_is_rejected(edit):
    plan = _plan_from_receipts([[-3.0, 2.0], [1.25, -1.0], [1.75, -1.0]])
    text = settle(plan, 0).to_json()
    with pytest.raises(RecordTamperedError):
        SettlementRecord.from_json(_tamper(text, edit))


def test_consistent_forgery_is_caught_by_replay_against_the_plan():
    plan = _plan_from_receipts([[-3.0, 2.0], [1.25, -1.0], [1.75, -1.0]])
    data = json.loads(settle(plan, 0).to_json())
    data["receipts"] = [-2.0, 0.25, 1.75]
    data["payments_units"] = [-200, 25, 175]
    data["payments"] = ["-2.00", "0.25", "1.75"]
    data["transfers"] = [{"from": "a0", "to": "a1", "units": 25},
                         {"from": "a0", "to": "a2", "units": 175}]
    data["collateral_units"] = [300, 100, 100]
    _forge(data)
    forged = SettlementRecord.from_json(json.dumps(data))              # self-consistent
    with pytest.raises(RecordTamperedError):
        replay(forged, plan)
    other = _plan_from_receipts([[-3.0, 2.0], [1.0, -1.0], [2.0, -1.0]])
    with pytest.raises(RecordTamperedError, match="plan"):
        replay(settle(plan, 0), other)


def test_plan_round_trip_and_tamper():
    plan = _random_plan(np.random.default_rng(6), 3, 8)
    data = json.loads(json.dumps(plan.to_dict()))
    back = SettlementPlan.from_dict(data)
    assert back.digest == plan.digest
    np.testing.assert_array_equal(back.collateral_units, plan.collateral_units)
    data["cash"][0] += 0.01
    data["cash"][1] -= 0.01
    with pytest.raises(RecordTamperedError):
        SettlementPlan.from_dict(data)


def test_unbalanced_receipts_are_refused():
    with pytest.raises(SettlementError, match="money would be created"):
        _plan_from_receipts([[1.0, 0.5], [-1.0, -0.4]])


def test_cash_and_splits_add_up_to_the_cent():
    # Cash t with thirds of a cent: rounded cash sums to zero and stays within a cent.
    t = np.array([10 / 3, 10 / 3, -20 / 3])
    cents = round_amounts(t, 0.01)
    assert cents.tolist() == [334, 333, -667] and cents.sum() == 0
    rng = np.random.default_rng(7)
    for _ in range(300):
        t = rng.normal(scale=1000, size=int(rng.integers(2, 12)))
        t -= t.mean()
        cents = round_amounts(t, 0.01)
        assert cents.sum() == 0 and np.all(np.abs(cents - t / 0.01) < 1)


def test_to_units_snaps_only_float_noise():
    a = to_units([0.07, 0.071, 1e9 + 0.005], 0.01)
    assert a[0] == 7.0 and a[1] == pytest.approx(7.1) and a[1] != 7.0
    assert math.isclose(a[2], 1e11 + 0.5)
    with pytest.raises(SettlementError):
        to_units([1e20], 0.01)


@pytest.mark.parametrize("kwargs, error", [
    ({"unit": 0.0}, SettlementError),
    ({"names": ["a", "a"]}, ValueError),
    ({"names": ["a"]}, ShapeError),
], ids=["unit", "duplicate-names", "names-length"])
def test_bad_plan_input(kwargs, error):
    args = {"positions": [[0.0], [0.0]], "allocation": [[1.0], [-1.0]], "cash": [0.0, 0.0],
            "names": ["a", "b"]}
    args.update(kwargs)
    with pytest.raises(error):
        settlement_plan(**args)


def test_scenario_by_name_and_bad_scenario():
    plan = settlement_plan([[0.0, 0.0], [0.0, 0.0]], [[1.0, -2.0], [-1.0, 2.0]], [0.0, 0.0],
                           ["a", "b"], state_names=["1851-0", "1851-1"])
    assert settle(plan, "1851-1").scenario == 1
    assert settle(plan, "1851-1").state_name == "1851-1"
    with pytest.raises(SettlementError):
        settle(plan, 2)
    with pytest.raises(SettlementError):
        settle(plan, "1900-0")


def test_amounts_too_large_for_the_unit_ask_for_a_larger_unit():
    """Amounts of ~1e14 cents cannot be balanced to 0.01 cent in double precision: the
    error says so and names the settlement unit, instead of blaming the allocation."""
    rng = np.random.default_rng(2)
    a = rng.normal(size=(3, 5)) * 1e12
    a[2] = -(a[0] + a[1])
    a[0, 1] += 3e-3            # float noise at this size, well under one unit of money
    with pytest.raises(SettlementError) as err:
        round_amounts(a[:, 1], unit=0.01)
    assert err.value.field == "settlement_unit"
    assert "larger settlement unit" in str(err.value)
    assert round_amounts(a[:, 1], unit=1.0).sum() == 0
