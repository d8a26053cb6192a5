r"""Settlement of a reported state in integer units (spec §10).

Notation: agents ``i = 1..n`` (in the plan's order), states ``ω = 1..m``,
positions ``X`` (n, m), the chosen allocation ``Y*`` (n, m), cash ``t`` (n,),
settlement unit ``u`` (e.g. one cent, ``u = 0.01``). The net receipt of agent
``i`` in state ``ω`` is

    r_i(ω) = Y*_i(ω) - X_i(ω) + t_i        (Σ_i r_i(ω) = 0 in every state),

its amount in units ``a_i(ω) = r_i(ω) / u``, and its collateral, the most it
can owe, rounded up to a whole unit,

    C_i = max(0, max_ω ceil(-a_i(ω)))   units.

Rounding rule (one rule for every split: receipts, cash, auction rebates).
Float noise first: an amount within ``1e-9 + 16 eps |a|`` units of a whole
number is that whole number. Then, in each state,

1. every agent gets ``f_i = floor(a_i)`` units;
2. the ``D = -Σ_i f_i`` units this leaves over (``0 <= D <= n``, because
   ``Σ_i a_i = 0``) go one each to the ``D`` agents with the largest fractional
   parts ``a_i - f_i``;
3. fractional parts equal to 9 decimals of a unit (half-unit ties included)
   are ranked by the agent's position in the plan, earlier first.

So the payments ``p_i`` are integers with ``Σ_i p_i = 0`` exactly (no unit is
created or stranded) and ``|p_i - a_i| < 1``. A rounded payment owed never
exceeds the collateral: ``-p_i <= -f_i = ceil(-a_i) <= C_i``; rounding only
ever moves an agent's receipt *up* from its floor, and the floor of a receipt
is minus the ceiling of the debt, which is what the collateral locks.

A :class:`SettlementRecord` is JSON with a SHA-256 digest over a canonical
encoding of its content and of the plan data it depends on (the plan digest,
the state's receipts, the collateral). ``from_json`` rejects an altered record;
:func:`replay` recomputes the payments from the plan. The record id is derived
from the plan digest and the state, so settling the same state of the same plan
twice yields the same record with the same id: "replayed twice" means the
verification is idempotent, and a :class:`Ledger` applies an id once only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from ._errors import (
    DuplicateNameError,
    RecordTamperedError,
    SettlementError,
    ShapeError,
)
from ._validate import finite_array

__all__ = [
    "RULE",
    "SettlementPlan",
    "SettlementRecord",
    "Ledger",
    "settlement_plan",
    "settlement_plan_from_result",
    "to_units",
    "apportion",
    "round_amounts",
    "settle",
    "settle_all",
    "transfers",
    "replay",
]

RULE = ("floor each amount to a whole unit; the leftover units go one each to the largest "
        "fractional parts (equal to 9 decimals: earlier agent first)")
PLAN_FORMAT = "riskshare.settlement-plan.v1"
RECORD_FORMAT = "riskshare.settlement-record.v1"
MAX_UNITS = 2.0**52
_TAG_PLAN = b"riskshare/settlement-plan/v1\x00"
_TAG_RECORD = b"riskshare/settlement-record/v1\x00"
_TAG_ID = b"riskshare/settlement-id/v1\x00"
_SNAP_ABS = 1e-9
_REMAINDER_DECIMALS = 9


def _canonical(obj) -> bytes:
    """Canonical JSON bytes: sorted keys, no spaces, floats by their shortest repr."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


def _money_text(units: int, unit: float) -> str:
    """Exact decimal text of ``units * unit`` (the unit read as its shortest decimal)."""
    return format(Decimal(int(units)) * Decimal(repr(float(unit))), "f")


def _check_unit(unit) -> float:
    u = float(unit)
    if not np.isfinite(u) or u <= 0:
        raise SettlementError("settlement_unit", unit, "a finite number > 0",
                              "use e.g. 0.01 for cents")
    return u


def to_units(amounts, unit: float = 0.01) -> np.ndarray:
    """Amounts in money → amounts in units, with float noise snapped to whole units.

    Raises
    ------
    SettlementError
        An amount exceeds ``2**52`` units (integers would lose exactness).
    """
    a = np.asarray(amounts, dtype=float) / _check_unit(unit)
    if a.size and float(np.max(np.abs(a))) > MAX_UNITS:
        raise SettlementError("amounts", float(np.max(np.abs(a))),
                              f"at most {MAX_UNITS:.0f} units", "use a larger settlement unit")
    whole = np.rint(a)
    tol = _SNAP_ABS + 16 * np.finfo(float).eps * np.abs(a)
    return np.where(np.abs(a - whole) <= tol, whole, a)


def apportion(units) -> np.ndarray:
    """Round amounts in units (..., n) whose rows sum to zero to integers that sum to zero.

    Applies the module's rounding rule along the last axis (vectorised over the
    leading axes). The input must already be snapped (:func:`to_units`) and each
    row must sum to zero within less than one unit.

    Returns
    -------
    ndarray of int64, same shape.
    """
    a = np.asarray(units, dtype=float)
    floors = np.floor(a)
    key = np.round(a - floors, _REMAINDER_DECIMALS)
    f = floors.astype(np.int64)

    deficit = -f.sum(axis=-1, keepdims=True)
    n = a.shape[-1]
    if np.any(deficit < 0) or np.any(deficit > n):
        raise SettlementError("amounts", "rows do not sum to zero", "Σ_i a_i = 0 per row",
                              "balance the amounts before rounding")

    order = np.argsort(-key, axis=-1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(n), order.shape), axis=-1)
    return f + (rank < deficit)


def _check_balance(units: np.ndarray, tol: float, field: str) -> float:
    """Largest |Σ_i a_i| over rows; raise when it exceeds ``tol`` units."""
    if units.size == 0:
        return 0.0
    imbalance = np.abs(units.sum(axis=0))
    worst = int(np.argmax(imbalance))
    if imbalance[worst] > tol:
        # amounts so large in units that double-precision sums cannot balance to ``tol``
        noise = 64 * np.finfo(float).eps * float(np.abs(units[:, worst]).sum())
        if noise > tol:
            raise SettlementError(
                "settlement_unit", f"sum {imbalance[worst]:.6g} units in column {worst}, "
                f"amounts up to "
                f"{float(np.abs(units).max()):.3g} units",
                f"amounts small enough in units for double precision to balance them "
                f"within {tol} units", "use a larger settlement unit (e.g. 1 or 1000)")
        raise SettlementError(field, f"sum {imbalance[worst]:.6g} units in column {worst}",
                              f"amounts must sum to zero within {tol} units",
                              "money would be created or lost: check that the allocation "
                              "splits the aggregate and that the cash sums to zero")
    return float(imbalance.max())


def round_amounts(amounts, unit: float = 0.01, *, balance_tol: float = 0.01) -> np.ndarray:
    """Round a zero-sum vector of money amounts (n,) to integer units that sum to zero.

    Use it for any split outside a plan: cash ``t``, auction transfers.

    Raises
    ------
    SettlementError
        The amounts do not sum to zero within ``balance_tol`` units.
    """
    a = to_units(finite_array("amounts", amounts, ndim=1), unit)
    _check_balance(a[:, None], balance_tol, "amounts")
    return apportion(a)


@dataclass(frozen=True, eq=False)
class SettlementPlan:
    """Everything settlement needs, fixed before the state is known.

    Attributes
    ----------
    names : tuple of str
    positions, allocation : ndarray, shape (n, m)
        ``X`` and ``Y*``.
    cash : ndarray, shape (n,)
        ``t``.
    unit : float
        Settlement unit ``u`` in money.
    money : str
        Money unit, e.g. ``"USD"``.
    state_names : tuple of str or None
    receipts : ndarray, shape (n, m)
        ``r = Y* - X + t`` in money.
    receipt_units : ndarray, shape (n, m)
        ``r / u`` with float noise snapped (what rounding starts from).
    collateral_units : ndarray of int64, shape (n,)
        ``C_i``; ``collateral = C_i * u`` in money.
    max_imbalance_units : float
        Largest ``|Σ_i a_i(ω)|`` seen (float noise; at most ``balance_tol``).
    digest : str
        SHA-256 over the plan data (names, arrays, unit, money, state names).
    rule : str
        The rounding rule.
    """

    names: tuple[str, ...]
    positions: np.ndarray
    allocation: np.ndarray
    cash: np.ndarray
    unit: float
    money: str
    state_names: tuple[str, ...] | None
    receipts: np.ndarray
    receipt_units: np.ndarray
    collateral_units: np.ndarray
    max_imbalance_units: float
    digest: str
    rule: str = RULE

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def m(self) -> int:
        return self.positions.shape[1]

    @property
    def collateral(self) -> np.ndarray:
        """(n,) collateral in money (``C_i * u``)."""
        return self.collateral_units * self.unit

    def to_dict(self) -> dict:
        """JSON-ready plan (floats written so that they read back exactly)."""
        return {
            "format": PLAN_FORMAT, "names": list(self.names), "money": self.money,
            "unit": self.unit, "state_names": None if self.state_names is None
            else list(self.state_names),
            "positions": self.positions.tolist(), "allocation": self.allocation.tolist(),
            "cash": self.cash.tolist(), "collateral_units": self.collateral_units.tolist(),
            "digest": self.digest,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> SettlementPlan:
        """Rebuild a plan from :meth:`to_dict`; rejects one whose digest does not match."""
        plan = settlement_plan(data["positions"], data["allocation"], data["cash"],
                               data["names"], unit=data["unit"], money=data["money"],
                               state_names=data["state_names"])
        if plan.digest != data.get("digest"):
            raise RecordTamperedError("plan.digest", data.get("digest"),
                                      f"the plan data hash to {plan.digest}",
                                      "use the plan as written")
        return plan


def _plan_digest(names, X, Y, t, unit, money, state_names) -> str:
    header = _canonical({"format": PLAN_FORMAT, "names": list(names), "unit": unit,
                         "money": money, "shape": list(X.shape),
                         "state_names": None if state_names is None else list(state_names)})
    h = hashlib.sha256(_TAG_PLAN + _field(header))
    for arr in (X, Y, t):
        h.update(_field(np.ascontiguousarray(arr, dtype="<f8").tobytes()))
    return h.hexdigest()


def _check_plan_inputs(positions, allocation, cash, names, state_names):
    X = finite_array("positions", positions, ndim=2)
    Y = finite_array("allocation", allocation, shape=X.shape)
    t = finite_array("cash", cash, shape=(X.shape[0],))
    names = tuple(str(x) for x in names)
    if len(names) != X.shape[0]:
        raise ShapeError("names", len(names), f"one name per agent ({X.shape[0]})",
                         "give as many names as rows of positions")
    if len(set(names)) != len(names):
        raise DuplicateNameError("names", sorted({x for x in names if names.count(x) > 1}),
                                 "every agent needs its own name", "rename the duplicates")
    if state_names is not None:
        state_names = tuple(str(x) for x in state_names)
        if len(state_names) != X.shape[1]:
            raise ShapeError("state_names", len(state_names), f"one per state ({X.shape[1]})",
                             "give as many state names as columns")
    return X, Y, t, names, state_names


def settlement_plan(positions, allocation, cash, names: Sequence[str], unit: float = 0.01, *,
                    money: str = "USD", state_names: Sequence[str] | None = None,
                    balance_tol: float = 0.01) -> SettlementPlan:
    """Receipts, collateral and the digest of a settlement plan (spec §10).

    Parameters
    ----------
    positions : array_like, shape (n, m)
        Initial positions ``X``.
    allocation : array_like, shape (n, m)
        Chosen allocation ``Y*``; its columns must sum to those of ``X``.
    cash : array_like, shape (n,)
        Cash ``t`` (sums to zero).
    names : sequence of str
        Agent names (the order is the tie order of the rounding rule).
    unit : float
        Settlement unit in money (default one cent).
    money : str
        Money unit.
    state_names : sequence of str, optional
    balance_tol : float
        Largest ``|Σ_i r_i(ω)| / u`` accepted as float noise (default 0.01 unit).

    Raises
    ------
    ShapeError, NonFiniteError, DuplicateNameError
        Bad arrays or names.
    SettlementError
        Receipts do not sum to zero in some state, or amounts are too large.
    """
    X, Y, t, names, state_names = _check_plan_inputs(positions, allocation, cash, names,
                                                     state_names)
    unit = _check_unit(unit)

    receipts = Y - X + t[:, None]
    units = to_units(receipts, unit)
    imbalance = _check_balance(units, balance_tol, "receipts")

    floors = np.floor(units).astype(np.int64)
    collateral = np.maximum(0, -floors.min(axis=1)) if X.shape[1] else np.zeros(len(names), int)

    for arr in (X, Y, t, receipts, units, collateral):
        arr.setflags(write=False)
    digest = _plan_digest(names, X, Y, t, unit, str(money), state_names)
    return SettlementPlan(names=names, positions=X, allocation=Y, cash=t, unit=unit,
                          money=str(money), state_names=state_names, receipts=receipts,
                          receipt_units=units, collateral_units=collateral.astype(np.int64),
                          max_imbalance_units=imbalance, digest=digest)


def settlement_plan_from_result(result, *, balance_tol: float = 0.01) -> SettlementPlan:
    """Plan of a mechanism result (duck-typed: ``result.pool``, ``result.efficient.allocation``,
    ``result.cash``, ``result.settings.settlement_unit``)."""
    pool = result.pool
    return settlement_plan(pool.positions, result.efficient.allocation, result.cash, pool.names,
                           unit=result.settings.settlement_unit, money=pool.money,
                           state_names=pool.state_names, balance_tol=balance_tol)


def settle_all(plan: SettlementPlan) -> np.ndarray:
    """Integer payments of every state at once: (m, n) int64, each row sums to zero."""
    return apportion(plan.receipt_units.T)


def transfers(payments: Sequence[int], names: Sequence[str]) -> list[dict]:
    """Who pays whom: net payers to net receivers, both in agent order (greedy matching).

    Gives at most ``payers + receivers - 1`` transfers, each a dict with ``from``,
    ``to`` and ``units``.
    """
    owed = [[i, -int(p)] for i, p in enumerate(payments) if p < 0]
    due = [[i, int(p)] for i, p in enumerate(payments) if p > 0]
    out, a, b = [], 0, 0
    while a < len(owed) and b < len(due):
        amount = min(owed[a][1], due[b][1])
        out.append({"from": names[owed[a][0]], "to": names[due[b][0]], "units": amount})
        owed[a][1] -= amount
        due[b][1] -= amount
        a += owed[a][1] == 0
        b += due[b][1] == 0
    return out


@dataclass(frozen=True, eq=False)
class SettlementRecord:
    """Settlement of one reported state, replayable.

    Attributes
    ----------
    record_id : str
        Derived from the plan digest and the state: the same settlement always has
        the same id.
    plan_digest : str
    scenario : int
        State index ``ω`` (0-based).
    state_name : str or None
    names : tuple of str
    unit : float
    money : str
    receipts : tuple of float
        ``r_i(ω)`` in money.
    collateral_units : tuple of int
    payments_units : tuple of int
        Integer payments received (negative: paid); sum exactly zero.
    transfers : tuple of dict
        ``{"from", "to", "units"}``.
    rule : str
    digest : str
        SHA-256 over the canonical encoding of all the fields above.
    """

    record_id: str
    plan_digest: str
    scenario: int
    state_name: str | None
    names: tuple[str, ...]
    unit: float
    money: str
    receipts: tuple[float, ...]
    collateral_units: tuple[int, ...]
    payments_units: tuple[int, ...]
    transfers: tuple[dict, ...]
    rule: str
    digest: str

    @property
    def payments(self) -> tuple[str, ...]:
        """Payments in money as exact decimal text."""
        return tuple(_money_text(p, self.unit) for p in self.payments_units)

    def content(self) -> dict:
        """JSON-ready content covered by the digest."""
        return {
            "format": RECORD_FORMAT, "id": self.record_id, "plan_digest": self.plan_digest,
            "scenario": self.scenario, "state_name": self.state_name,
            "names": list(self.names), "unit": self.unit, "money": self.money,
            "receipts": list(self.receipts), "collateral_units": list(self.collateral_units),
            "payments_units": list(self.payments_units), "payments": list(self.payments),
            "transfers": [dict(x) for x in self.transfers], "rule": self.rule,
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The record as JSON text, digest included."""
        return json.dumps({**self.content(), "digest": self.digest}, indent=indent,
                          allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> SettlementRecord:
        """Read a record; verify its digest and recompute its payments from its own data.

        Raises
        ------
        RecordTamperedError
            The digest does not match the content, or the payments, transfers or
            collateral bounds do not follow from the recorded receipts.
        """
        try:
            data = json.loads(text)
            record = _record_from_content(data)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, RecordTamperedError):
                raise
            raise RecordTamperedError("record", type(exc).__name__, "a complete record",
                                      "use the record as written by settle()") from exc
        extra = sorted(set(data) - set(record.content()) - {"digest"})
        if extra:
            raise RecordTamperedError("record", extra, "no fields beyond the record's own",
                                      "the record was altered; use the original")
        if data.get("digest") != record.digest or _canonical(data.get("payments")) != \
                _canonical(list(record.payments)):
            raise RecordTamperedError("record.digest", data.get("digest"),
                                      f"the content hashes to {record.digest}",
                                      "the record was altered; use the original")
        _verify_internal(record)
        return record


def _record_digest(content: dict) -> str:
    return hashlib.sha256(_TAG_RECORD + _canonical(content)).hexdigest()


def _record_id(plan_digest: str, scenario: int) -> str:
    payload = _TAG_ID + _field(plan_digest.encode("ascii")) + int(scenario).to_bytes(8, "big")
    return hashlib.sha256(payload).hexdigest()[:32]


def _make_record(**fields) -> SettlementRecord:
    draft = SettlementRecord(digest="", **fields)
    return SettlementRecord(digest=_record_digest(draft.content()), **fields)


def _record_from_content(data: Mapping) -> SettlementRecord:
    if data.get("format") != RECORD_FORMAT:
        raise RecordTamperedError("record.format", data.get("format"),
                                  f"expected {RECORD_FORMAT!r}", "use a record of this version")
    return _make_record(
        record_id=str(data["id"]), plan_digest=str(data["plan_digest"]),
        scenario=int(data["scenario"]), state_name=data["state_name"],
        names=tuple(data["names"]), unit=float(data["unit"]), money=str(data["money"]),
        receipts=tuple(float(x) for x in data["receipts"]),
        collateral_units=tuple(int(x) for x in data["collateral_units"]),
        payments_units=tuple(int(x) for x in data["payments_units"]),
        transfers=tuple({"from": str(x["from"]), "to": str(x["to"]), "units": int(x["units"])}
                        for x in data["transfers"]),
        rule=str(data["rule"]))


def _verify_internal(record: SettlementRecord) -> None:
    """Recompute payments and transfers from the record's own receipts; check the bounds."""
    fresh = apportion(to_units(np.asarray(record.receipts), record.unit))
    checks = {
        "payments_units": tuple(int(x) for x in fresh) == record.payments_units,
        "transfers": tuple(transfers(fresh, record.names)) == record.transfers,
        "collateral_units": all(-p <= c for p, c in zip(record.payments_units,
                                                        record.collateral_units, strict=True)),
        "id": _record_id(record.plan_digest, record.scenario) == record.record_id,
    }
    for name, ok in checks.items():
        if not ok:
            raise RecordTamperedError(f"record.{name}", getattr(record, name, None),
                                      "must follow from the recorded receipts",
                                      "the record was altered; use the original")


def _scenario_index(plan: SettlementPlan, scenario: int | str) -> int:
    if isinstance(scenario, str) and plan.state_names and scenario in plan.state_names:
        return plan.state_names.index(scenario)
    if isinstance(scenario, int | np.integer) and 0 <= int(scenario) < plan.m:
        return int(scenario)
    raise SettlementError("scenario", scenario, f"a state index 0..{plan.m - 1} or a state name",
                          "report a state of the plan")


def settle(plan: SettlementPlan, scenario: int | str) -> SettlementRecord:
    """Settle a reported state in integer units.

    Parameters
    ----------
    plan : SettlementPlan
    scenario : int or str
        State index (0-based) or state name.

    Returns
    -------
    SettlementRecord
        Payments summing to exactly zero, none owed beyond the collateral.
    """
    k = _scenario_index(plan, scenario)
    payments = apportion(plan.receipt_units[:, k])
    if np.any(-payments > plan.collateral_units):  # guaranteed by the rule; kept as a guard
        raise SettlementError("payments", payments.tolist(), "never above the collateral",
                              "report this as a bug")
    return _make_record(
        record_id=_record_id(plan.digest, k), plan_digest=plan.digest, scenario=k,
        state_name=None if plan.state_names is None else plan.state_names[k],
        names=plan.names, unit=plan.unit, money=plan.money,
        receipts=tuple(float(x) for x in plan.receipts[:, k]),
        collateral_units=tuple(int(x) for x in plan.collateral_units),
        payments_units=tuple(int(x) for x in payments),
        transfers=tuple(transfers(payments, plan.names)), rule=plan.rule)


def replay(record: SettlementRecord, plan: SettlementPlan) -> SettlementRecord:
    """Recompute a record from its plan and check that it matches field by field.

    Idempotent: replaying any number of times returns an equal record and pays
    nothing (use a :class:`Ledger` to apply payments once).

    Raises
    ------
    RecordTamperedError
        The record belongs to another plan or differs from the recomputation.
    """
    if record.plan_digest != plan.digest:
        raise RecordTamperedError("record.plan_digest", record.plan_digest,
                                  f"the plan's digest is {plan.digest}",
                                  "replay against the plan the record was made from")
    fresh = settle(plan, record.scenario)
    if fresh.content() != record.content() or fresh.digest != record.digest:
        diff = sorted(k for k, v in fresh.content().items() if record.content().get(k) != v)
        raise RecordTamperedError("record", diff or ["digest"],
                                  "must equal the recomputation from the plan",
                                  "the record was altered; use the original")
    return fresh


class Ledger:
    """Integer balances that apply each settlement once.

    A plan settles once: applying the same record id again is a no-op
    (returns ``False``); applying a different state of an already settled plan
    is refused.
    """

    def __init__(self) -> None:
        self.balances: dict[str, int] = {}
        self._settled: dict[str, str] = {}

    def apply(self, record: SettlementRecord) -> bool:
        """Apply ``record``; return ``True`` if it moved money, ``False`` if already applied.

        Raises
        ------
        SettlementError
            The plan was already settled in another state.
        """
        done = self._settled.get(record.plan_digest)
        if done == record.record_id:
            return False
        if done is not None:
            raise SettlementError("record.scenario", record.scenario,
                                  f"plan {record.plan_digest[:12]} already settled (id {done})",
                                  "a plan settles once; replay the original record instead")
        _verify_internal(record)
        for name, units in zip(record.names, record.payments_units, strict=True):
            self.balances[name] = self.balances.get(name, 0) + int(units)
        self._settled[record.plan_digest] = record.record_id
        return True
