r"""Independent checks of a mechanism outcome (spec §4, §6–10).

Written apart from :mod:`riskshare.game` (it does not import it) so that it can
catch the game code's mistakes. Every check returns a :class:`Check` with the
value it measured and the tolerance it allowed, in money units unless the
detail says otherwise.

Notation as in the spec: order of moves ``π``, schedules ``p_1..p_{n−1}``,
claimed outcome ``Y*``, continuation welfare ``W_k = Σ_{j>=k} U_{π_j}``,
ε the perturbation, ``L`` the Lipschitz cap.

What the checker recomputes on its own:

* a Monte Carlo sample of *whole* allocations from μ (joint Dirichlet
  shares, a different code path from the per-agent RQMC/quadrature of
  :mod:`riskshare.measures`), with its standard errors; means over it use the
  agents' utilities linearised at μ's mean allocation ``Ȳ`` (``<Q_i, Y_i>`` with
  ``Q_i`` a supergradient of ``U_i`` at ``Ȳ_i``) as control variates: their μ-means
  are exact, ``<Q_i, Ȳ_i>``; fitted by least squares on the same sample, they shrink
  the standard errors by ``sqrt(1 − R²)``;
* candidate allocations: that sample, vertices (all of them when there are
  few, random ones otherwise), the mean of μ, the status quo when it is in
  the menu, ``Y*``;
* the welfare upper bound of spec §4 from supergradients and penalties
  (or :func:`riskshare.efficiency.certify` when it is available).

Tolerances. Pointwise identities (indifference, payments, budget balance)
are held to ``NUMERIC_RTOL`` times the money scale. A comparison between an
integral and its recomputation allows ``Z_SCORE`` standard errors of both,
plus the numeric tolerance; a deviation gain also allows ``ε ∫ d(·, Y*) dμ``
(with ε > 0 the perturbed profile is an ε-equilibrium: a stage could keep
that amount by not perturbing if the next stage broke its tie its way).
A check that samples candidates shows that no sampled alternative does
better; it is evidence, not a proof over the whole menu.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .measures import Estimate
from .menus import BlockMenu, FiniteMenu
from .schedules import Schedule, distance

__all__ = ["Check", "Claim", "check_equilibrium", "check_result", "welfare_bound",
           "Z_SCORE", "NUMERIC_RTOL"]

#: standard errors allowed between an integral and its recomputation
Z_SCORE = 6.0
#: relative tolerance of pointwise identities (times the money scale)
NUMERIC_RTOL = 1e-9
#: relative tolerance of the efficiency certificate
CERTIFICATE_RTOL = 1e-6


@dataclass(frozen=True)
class Check:
    """One independent check.

    Attributes
    ----------
    name : str
    passed : bool
    value : float
        What was measured (e.g. the largest deviation gain).
    tolerance : float
        The largest value that passes.
    detail : str
    """

    name: str
    passed: bool
    value: float
    tolerance: float
    detail: str = ""

    def __post_init__(self):
        object.__setattr__(self, "passed", bool(self.passed))
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "tolerance", float(self.tolerance))

    def to_dict(self) -> dict:
        return {"name": self.name, "passed": self.passed, "value": self.value,
                "tolerance": self.tolerance, "detail": self.detail}


@dataclass(frozen=True, eq=False)
class Claim:
    """What a mechanism run claims; ``None`` fields are not checked.

    Attributes
    ----------
    allocation : ndarray (n, m)
        ``Y*``.
    order : tuple of int
        Agents in order of moves.
    schedules : tuple of Schedule
        ``p_1..p_{n−1}``, bound to the utilities.
    mu_integrals : tuple of Estimate
        ``∫ U_i dμ``.
    stage_payoffs : ndarray (n,)
        Game payoff by agent, before the auction.
    lipschitz_cap : float
    epsilon : float
    metric : str
    welfare : float, optional
        Claimed ``W(Y*)``.
    supergradients : ndarray (n, m), optional
        Supergradients behind the efficiency certificate.
    surplus : Estimate, optional
    payoffs, bids, cash : ndarray, optional
    auction_winner : int, optional
    auction_transfers : ndarray (n,), optional
        Money each agent received from the auction.
    receipts : ndarray (n, m), optional
    collateral : ndarray (n,), optional
    settlement_unit : float
    """

    allocation: np.ndarray
    order: tuple
    schedules: tuple
    mu_integrals: tuple
    stage_payoffs: np.ndarray
    lipschitz_cap: float
    epsilon: float = 0.0
    metric: str = "sup"
    welfare: float | None = None
    supergradients: np.ndarray | None = None
    surplus: Estimate | None = None
    payoffs: np.ndarray | None = None
    bids: np.ndarray | None = None
    auction_winner: int | None = None
    auction_transfers: np.ndarray | None = None
    cash: np.ndarray | None = None
    receipts: np.ndarray | None = None
    collateral: np.ndarray | None = None
    settlement_unit: float = 0.01


# ----------------------------------------------------------------------------- candidates
class _Table:
    """Utilities and anchor distances of every candidate allocation (no allocations kept)."""

    def __init__(self, pool, utilities, menu, measure, anchors, metric, draws, vertices, seed):
        self.n, self.m = pool.n, pool.m
        self.metric, self.P = metric, pool.probabilities
        self.anchors = [np.asarray(a, dtype=float) for a in anchors]
        rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, 7]))
        if isinstance(menu, FiniteMenu):
            self._fill(utilities, [menu.items])
            self.weights = np.asarray(measure.weights, dtype=float)
            self.is_sample = np.ones(menu.size, dtype=bool)
            self.items = True
            return
        self.items = False
        parts, kinds = self._block_parts(menu, measure, rng, draws, vertices)
        self._fill(utilities, parts)
        self.is_sample = np.concatenate(kinds)
        self.weights = self.is_sample / self.is_sample.sum()
        # control variates: each agent's utility linearised at μ's mean allocation,
        # <Q_i, Y_i> with Q_i its supergradient there (exact μ-mean <Q_i, E_μ Y_i>)
        centre = np.asarray(measure.mean_allocation(), float)
        grads = np.stack([np.asarray(utilities[i].supergradient(centre[i]), float)
                          for i in range(self.n)])
        self.features = np.concatenate([np.einsum("knm,nm->kn", Y, grads) for Y in parts])
        self.feature_mean = np.einsum("nm,nm->n", centre, grads)

    def _block_parts(self, menu: BlockMenu, measure, rng, draws, vertices):
        rows = max(1, (1 << 22) // max(self.n * self.m, 1))
        parts, kinds = [], []
        left = int(draws)
        while left > 0:
            k = min(rows, left)
            parts.append(measure.sample(k, rng))
            kinds.append(np.ones(k, dtype=bool))
            left -= k
        if menu.n_vertices <= max(vertices, 1):
            verts = np.stack(list(menu.vertices()))
        else:
            verts = menu.random_vertices(rng, int(vertices))
        parts.append(verts)
        kinds.append(np.zeros(len(verts), dtype=bool))
        extra = np.stack(self.anchors + [measure.mean_allocation()])
        parts.append(extra)
        kinds.append(np.zeros(len(extra), dtype=bool))
        return parts, kinds

    def _fill(self, utilities, parts):
        U, D = [], []
        for Y in parts:
            U.append(np.stack([utilities[i].value(Y[:, i, :]) for i in range(self.n)], axis=1))
            D.append(np.stack([distance(Y, Z, self.metric, self.P) for Z in self.anchors],
                              axis=1) if self.anchors else np.zeros((len(Y), 0)))
        self.U = np.concatenate(U)
        self.D = np.concatenate(D)

    def anchor_index(self, Z) -> int:
        Z = np.asarray(Z, dtype=float)
        for k, A in enumerate(self.anchors):
            if A.shape == Z.shape and np.array_equal(A, Z):
                return k
        raise KeyError("anchor not tabulated")

    def mean(self, values) -> Estimate:
        """μ-mean of a candidate function and its standard error (exact on a finite menu;
        on a block menu with the control variates of the module docstring when they
        lower the standard error)."""
        if self.items:
            return Estimate(float(self.weights @ values), 0.0, True, len(values), "finite-sum")
        v = values[self.is_sample]
        N = v.size
        plain = Estimate(float(v.mean()), float(v.std(ddof=1) / np.sqrt(N)), False, N,
                         "monte-carlo")
        X = self.features[self.is_sample]
        if N < 20 * X.shape[1] + 10:
            return plain
        Xc, vc = X - X.mean(axis=0), v - v.mean()
        beta, _, rank, _ = np.linalg.lstsq(Xc, vc, rcond=1e-10)
        resid = vc - Xc @ beta
        value = float(v.mean() - (X.mean(axis=0) - self.feature_mean) @ beta)
        se = float(np.sqrt(resid @ resid / max(N - 1 - rank, 1) / N))
        if not (np.isfinite(value) and np.isfinite(se)) or se >= plain.stderr:
            return plain
        return Estimate(value, se, False, N, "monte-carlo")

    def schedule(self, p: Schedule) -> np.ndarray:
        """``p`` on every candidate, from its terms."""
        out = np.full(len(self.U), p.constant)
        a = p.coefficients()
        out = out + self.U @ a
        for b, Z in p.distance_terms:
            out = out + b * self.D[:, self.anchor_index(Z)]
        if p.item_prices is not None:
            out = out + p.item_prices
        return out


# ----------------------------------------------------------------------------- welfare bound
def welfare_bound(utilities, menu, Y, Q=None) -> tuple[float, str]:
    """Upper bound on ``max W`` over the menu from supergradients (spec §4); the exact
    maximum on a finite menu.

    ``U_i(Z) <= <Q_i, Z> + α_i(Q_i)`` for every ``Z``, so
    ``max W <= Σ_b max_i <Q_i, e_b> + (fixed part) + Σ_i α_i(Q_i)``. A given ``Q_i``
    whose penalty is infinite is replaced by the utility's own supergradient at ``Y_i``.
    """
    Y = np.asarray(Y, dtype=float)
    n = Y.shape[0]
    if isinstance(menu, FiniteMenu):
        values = sum(utilities[i].value(menu.items[:, i, :]) for i in range(n))
        return float(np.max(values)), "enumeration of the finite menu"
    Qs, source = [], "given supergradients"
    for i in range(n):
        q = None if Q is None else np.asarray(Q[i], dtype=float)
        alpha = np.inf if q is None else float(utilities[i].penalty(q, Y[i]))
        if not np.isfinite(alpha):
            q = np.asarray(utilities[i].supergradient(Y[i]), dtype=float)
            alpha = float(utilities[i].penalty(q, Y[i]))
            source = "supergradients of the utilities at Y"
        Qs.append((q, alpha))
    Qm = np.stack([q for q, _ in Qs])
    alphas = sum(a for _, a in Qs)
    mv = menu.marginal_values(Qm)
    fixed = float(np.sum(Qm * (Y - menu.allocation(menu.shares(Y)))))
    return float(np.sum(mv.max(axis=0)) + fixed + alphas), source


def _certificate(utilities, menu, Y, Q, W) -> tuple[float, str]:
    """``upper bound − W(Y)`` from :func:`riskshare.efficiency.certify` when available,
    else from :func:`welfare_bound`."""
    try:
        from .efficiency import certify
    except ImportError:
        certify = None
    if certify is not None and Q is not None and not isinstance(menu, FiniteMenu):
        try:
            cert = certify(utilities, menu, Y, Q)
            return float(cert.upper_bound) - W, "riskshare.efficiency.certify"
        except (ValueError, AttributeError, TypeError):
            pass
    bound, source = welfare_bound(utilities, menu, Y, Q)
    return bound - W, f"welfare_bound ({source})"


# ----------------------------------------------------------------------------- the checks
def check_equilibrium(pool, utilities, menu, measure, claim: Claim, *, draws: int = 1024,
                      vertices: int = 128, seed: int = 0) -> tuple[Check, ...]:
    """Run every check of the claimed outcome.

    Parameters
    ----------
    pool : Pool
    utilities : sequence of MonetaryUtility (bound to ``pool.probabilities``)
    menu : SignMenu, ComonotoneMenu or FiniteMenu
    measure : the reference measure μ of the run
    claim : Claim
    draws : int
        Size of the checker's own Monte Carlo sample from μ.
    vertices : int
        Random vertices among the candidates (all vertices when fewer).
    seed : int
        Seed of the checker's sample (independent of the run's streams).
    """
    return tuple(_Checker(pool, utilities, menu, measure, claim, draws, vertices, seed).run())


class _Checker:
    def __init__(self, pool, utilities, menu, measure, claim, draws, vertices, seed):
        self.pool, self.utilities, self.menu, self.claim = pool, list(utilities), menu, claim
        self.n = pool.n
        self.names = tuple(pool.names)
        self.order = tuple(int(i) for i in claim.order)
        self.Y = np.asarray(claim.allocation, dtype=float)
        self.scale = max(float(np.abs(pool.aggregate) @ pool.probabilities), 1e-300)
        self.num = NUMERIC_RTOL * self.scale * self.n
        self.lip = [float(u.lipschitz(claim.metric, pool.probabilities)) for u in utilities]
        self.rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, 11]))
        anchors = self._anchors(measure)
        self.table = _Table(pool, utilities, menu, measure, anchors, claim.metric, draws,
                            vertices, seed)
        self.at_y = np.array([float(utilities[i].value(self.Y[i])) for i in range(self.n)])
        self.W = float(self.at_y.sum())
        self.mc = [self.table.mean(self.table.U[:, i]) for i in range(self.n)]
        # the perturbation's distance to Y*: the metric, or the discrete one on a finite menu
        self.eps_col = self.table.D[:, 0]
        if isinstance(menu, FiniteMenu):
            self.eps_col = (self.eps_col > 0).astype(float)
        self.eps_d = self.table.mean(self.eps_col) if claim.epsilon else Estimate(0.0)

    # ------------------------------------------------------------------ set-up
    def _anchors(self, measure) -> list[np.ndarray]:
        """``Y*`` first, then deviation anchors and the schedules' own anchors."""
        anchors = [self.Y]
        menu = self.menu
        if isinstance(menu, FiniteMenu):
            anchors += [menu.items[k] for k in range(menu.size)]
        else:
            anchors.append(measure.mean_allocation())
            X = np.asarray(self.pool.positions, dtype=float)
            if menu.contains(X):
                anchors.append(X)
            anchors += list(menu.random_vertices(self.rng, 2))
            anchors += list(measure.sample(2, self.rng))
            last = len(self.order) - 2                   # the first and the last poster
            for k in sorted({0, last}):
                anchors.append(self._favouring_vertex(self.order[k], self.order[k + 1]))
        for p in self.claim.schedules:
            anchors += [Z for _, Z in p.distance_terms]
        unique: list[np.ndarray] = []
        for Z in anchors:
            if not any(A.shape == Z.shape and np.array_equal(A, Z) for A in unique):
                unique.append(np.asarray(Z, dtype=float))
        return unique

    def _favouring_vertex(self, winner: int, loser: int) -> np.ndarray:
        """Vertex giving every gain block to ``winner`` and every loss block to ``loser``."""
        menu = self.menu
        owner = np.where(menu.block_scale > 0, winner, loser)
        return menu.allocation(menu.vertex_shares(owner))

    def who(self, i: int) -> str:
        """Agent ``i`` as a reader knows it: its pool name, with its index."""
        return f"{self.names[i]} (index {i})"

    def tol_between(self, *estimates: Estimate) -> float:
        return Z_SCORE * float(np.sqrt(sum(e.stderr**2 for e in estimates))) + self.num

    # ------------------------------------------------------------------ run
    def run(self) -> list[Check]:
        out = [self.menu_membership(), *self.welfare_checks(), self.mu_integrals()]
        for k in range(1, len(self.order)):
            out += self.stage_checks(k)
        out += self.payment_checks()
        out += self.auction_checks()
        out += self.settlement_checks()
        return out

    def menu_membership(self) -> Check:
        menu = self.menu
        if isinstance(menu, FiniteMenu):
            err = float(np.min(np.max(np.abs(menu.items - self.Y), axis=(1, 2))))
        else:
            S = menu.shares(self.Y)
            err = max(float(np.max(-S, initial=0.0)) * self.scale,
                      float(np.max(S - 1, initial=0.0)) * self.scale,
                      float(np.max(np.abs(menu.allocation(S) - self.Y), initial=0.0)),
                      float(np.max(np.abs(self.Y.sum(axis=0) - menu.aggregate), initial=0.0)))
        return Check("allocation-in-menu", err <= self.num, err, self.num,
                     "largest violation of the menu's constraints by Y* (money)")

    def welfare_checks(self) -> list[Check]:
        out = []
        if self.claim.welfare is not None:
            diff = abs(self.W - float(self.claim.welfare))
            out.append(Check("welfare", diff <= self.num, diff, self.num,
                             f"W(Y*) recomputed = {self.W:.10g}"))
        gap, source = _certificate(self.utilities, self.menu, self.Y, self.claim.supergradients,
                                   self.W)
        self.upper = self.W + max(gap, 0.0)
        tol = CERTIFICATE_RTOL * max(abs(self.W), self.scale)
        out.append(Check("efficiency-certificate", gap <= tol, gap, tol,
                         f"upper bound on max W minus W(Y*), from {source}"))
        return out

    def mu_integrals(self) -> Check:
        rows = []
        for i, (claimed, mc) in enumerate(zip(self.claim.mu_integrals, self.mc, strict=True)):
            diff, tol = abs(claimed.value - mc.value), self.tol_between(claimed, mc)
            rows.append((diff / tol, diff, tol, i))
        ratio, diff, tol, agent = max(rows)
        return Check("mu-integrals", ratio <= 1.0, diff, tol,
                     "claimed ∫U_i dμ against the checker's Monte Carlo over joint draws "
                     f"({Z_SCORE:g} standard errors of both); worst agent {self.who(agent)}")

    # ------------------------------------------------------------------ stages
    def stage_checks(self, k: int) -> list[Check]:
        t, claim = self.table, self.claim
        p = claim.schedules[k - 1]
        prev = claim.schedules[k - 2] if k >= 2 else None
        later = list(self.order[k:])
        Wnext = t.U[:, later].sum(axis=1)
        pk = t.schedule(p)
        out = [self._lipschitz(k, p), self._normalisation(k, p, pk)]

        h = Wnext - pk + claim.epsilon * self.eps_col
        spread = float(h.max() - h.min())
        tol = self.num + NUMERIC_RTOL * float(np.max(np.abs(h)))
        name = "chooser-indifference" if k == len(self.order) - 1 else f"indifference[{k}]"
        out.append(Check(name, spread <= tol, spread, tol,
                         f"spread of W_{k + 1} − p_{k} + ε d(·,Y*) over {len(h)} candidates "
                         "(μ-samples, vertices, anchors); the equalising schedule makes it "
                         "constant"))

        cont = Wnext - pk
        at_y = cont[self._y_row()]
        excess = float(cont.max() - at_y)
        name = "choice" if k == len(self.order) - 1 else f"continuation-optimality[{k}]"
        out.append(Check(name, excess <= tol, excess, tol,
                         f"best candidate value of W_{k + 1} − p_{k} minus its value at Y*"))
        out.append(self._deviation(k, p, prev, Wnext, pk))
        return out

    def _y_row(self) -> int:
        t = self.table
        if t.items:
            return int(np.argmin(np.abs(t.D[:, 0])))
        return len(t.U) - len(t.anchors) - 1

    def _lipschitz(self, k, p: Schedule) -> Check:
        a = p.coefficients()
        lip = max([abs(a[j]) * self.lip[j] for j in range(self.n)], default=0.0)
        lip += sum(abs(b) for b, _ in p.distance_terms)
        cap = float(self.claim.lipschitz_cap)
        return Check(f"lipschitz[{k}]", lip <= cap * (1 + 1e-12), lip, cap,
                     f"Lipschitz bound of p_{k} from its terms against the cap")

    def _normalisation(self, k, p: Schedule, pk) -> Check:
        est = self.table.mean(pk)
        const = Estimate(0.0, p.constant_stderr, p.constant_stderr == 0, 0, "exact-linear")
        tol = self.tol_between(est, const)
        return Check(f"normalisation[{k}]", abs(est.value) <= tol, abs(est.value), tol,
                     f"|∫ p_{k} dμ| by the checker's sample ({Z_SCORE:g} standard errors of "
                     "the sample and of the schedule's constant)")

    def _deviation(self, k, p, prev, Wnext, pk) -> Check:
        """Largest gain of stage ``k`` over the deviation families."""
        t, claim = self.table, self.claim
        own = self.order[k - 1]
        later = list(self.order[k:])
        y = self._y_row()
        prev_vals = t.schedule(prev) if prev is not None else np.zeros(len(t.U))
        eq = self.at_y[own] + pk[y] - prev_vals[y]
        if k == 1:
            top = self.upper
        else:
            top = float(np.max(t.U[:, list(self.order[k - 1:])].sum(axis=1) - prev_vals))
        best, label = -np.inf, ""
        for name, dev in self._families(k, later, own):
            M = float(np.max(Wnext - dev))
            gain = top - M - eq
            if gain > best:
                best, label = gain, name
        se_claim = float(np.sqrt(sum(claim.mu_integrals[j].stderr**2 for j in later)))
        se_mc = t.mean(Wnext).stderr
        tol = Z_SCORE * float(np.hypot(se_claim, se_mc)) + self.num
        tol += claim.epsilon * (self.eps_d.value + Z_SCORE * self.eps_d.stderr)
        if k == 1:
            tol += CERTIFICATE_RTOL * max(abs(self.W), self.scale)
        return Check(f"deviation[{k}]", best <= tol, best, tol,
                     f"largest gain of stage {k}, played by {self.who(own)}, over deviation "
                     "families; continuation best-replying over the candidates; best family: "
                     f"{label}. "
                     f"Tolerance: {Z_SCORE:g} standard errors of ∫W_{k + 1} dμ (claimed and "
                     "recomputed) + ε ∫d(·,Y*) dμ")

    def _families(self, k, later, own):
        """Deviation schedules on the candidates, each normalised on the checker's sample."""
        t, claim = self.table, self.claim
        cap = float(claim.lipschitz_cap)
        need = max(self.lip[j] for j in later)
        base = t.U[:, later].sum(axis=1)
        yield "posted", t.schedule(claim.schedules[k - 1])

        def norm(v):
            return v - t.mean(v).value

        yield "equalising (recomputed)", norm(base)
        for lam in (0.0, 0.5, 0.9, 1.1, 1.5):
            if lam * need <= cap:
                yield f"scaled x{lam:g}", norm(lam * base)
        for j in set(later) | {own}:
            for delta in (-0.25, 0.25):
                a = np.zeros(self.n)
                a[later] = 1.0
                a[j] += delta
                if max(abs(a[i]) * self.lip[i] for i in range(self.n)) <= cap:
                    yield f"tilted U_{j}{delta:+g} ({self.names[j]})", norm(t.U @ a)
        room = cap - need if np.isfinite(cap) else need
        for idx in range(len(t.anchors)):
            for beta in (1e-3 * need, 0.5 * room):
                if 0 < beta <= room:
                    yield f"bumped to anchor {idx} ({beta:.3g})", norm(base + beta * t.D[:, idx])

    # ------------------------------------------------------------------ payments
    def payment_checks(self) -> list[Check]:
        claim, t = self.claim, self.table
        y = self._y_row()
        prices = [0.0] + [float(t.schedule(p)[y]) for p in claim.schedules] + [0.0]
        realised = np.zeros(self.n)
        for k, agent in enumerate(self.order, start=1):
            realised[agent] = self.at_y[agent] + prices[k] - prices[k - 1]
        stage = np.asarray(claim.stage_payoffs, dtype=float)
        diff = float(np.max(np.abs(stage - realised)))
        out = [Check("stage-payments", diff <= self.num, diff, self.num,
                     "claimed stage payoffs against U_k(Y*) + p_k(Y*) − p_{k−1}(Y*)")]

        expected, tol = self._spec7()
        diff = float(np.max(np.abs(stage - expected)))
        out.append(Check("payoffs-spec7", diff <= tol, diff, tol,
                         "first mover W(Y*) − Σ_{k≥2} ∫U_k dμ, later stages ∫U_k dμ "
                         "(ε terms: first mover −ε∫d(·,Y*)dμ, chooser +)"))
        stage_cash = realised - self.at_y
        bal = abs(float(np.sum(stage_cash)))
        out.append(Check("budget-balance", bal <= self.num, bal, self.num,
                         "sum of the stage payments at Y*"))
        return out

    def _spec7(self) -> tuple[np.ndarray, float]:
        ints = np.array([e.value for e in self.claim.mu_integrals])
        first, chooser = self.order[0], self.order[-1]
        expected = ints.copy()
        expected[first] = self.W - float(np.sum(ints[list(self.order[1:])]))
        eps = self.claim.epsilon
        expected[first] -= eps * self.eps_d.value
        expected[chooser] += eps * self.eps_d.value
        return expected, self.num + Z_SCORE * eps * self.eps_d.stderr

    def auction_checks(self) -> list[Check]:
        claim = self.claim
        out = []
        ints = np.array([e.value for e in claim.mu_integrals])
        if claim.surplus is not None:
            S = self.W - float(np.sum(ints))
            diff = abs(float(claim.surplus.value) - S)
            out.append(Check("surplus", diff <= self.num, diff, self.num,
                             f"S = W(Y*) − Σ ∫U_i dμ = {S:.10g}"))
            neg = max(0.0, -float(claim.surplus.value))
            tol = Z_SCORE * claim.surplus.stderr + self.num
            out.append(Check("surplus-nonnegative", neg <= tol, neg, tol,
                             "max W >= ∫W dμ, so S >= 0 up to its standard error"))
        if claim.payoffs is None:
            return out
        payoffs = np.asarray(claim.payoffs, dtype=float)
        stage = np.asarray(claim.stage_payoffs, dtype=float)
        if claim.bids is not None and len(claim.bids):
            S = float(claim.surplus.value) if claim.surplus is not None else self.W - ints.sum()
            b = np.asarray(claim.bids, dtype=float)
            diff = float(np.max(np.abs(b - max(S, 0.0) * (self.n - 1) / self.n)))
            out.append(Check("bids", diff <= self.num, diff, self.num,
                             "equilibrium bids S (n−1)/n"))
            transfers = np.asarray(claim.auction_transfers, dtype=float)
            diff = float(np.max(np.abs(payoffs - (stage + transfers))))
            out.append(Check("payoffs-with-auction", diff <= self.num, diff, self.num,
                             "payoffs = stage payoffs + auction transfers"))
            expected, tol = self._spec9(ints, max(S, 0.0))
            diff = float(np.max(np.abs(payoffs - expected)))
            out.append(Check("payoffs-spec9", diff <= tol, diff, tol,
                             "∫U_i dμ + S/n for every agent (ε terms as in spec7)"))
        else:
            diff = float(np.max(np.abs(payoffs - stage)))
            out.append(Check("payoffs-fixed-order", diff <= self.num, diff, self.num,
                             "no auction: payoffs are the stage payoffs"))
        return out

    def _spec9(self, ints, S) -> tuple[np.ndarray, float]:
        expected = ints + S / self.n
        eps = self.claim.epsilon
        expected[self.order[0]] -= eps * self.eps_d.value
        expected[self.order[-1]] += eps * self.eps_d.value
        return expected, self.num + Z_SCORE * eps * self.eps_d.stderr

    def settlement_checks(self) -> list[Check]:
        claim = self.claim
        out = []
        if claim.cash is None or claim.payoffs is None:
            return out
        cash = np.asarray(claim.cash, dtype=float)
        expected = np.asarray(claim.payoffs, dtype=float) - self.at_y
        diff = float(np.max(np.abs(cash - expected)))
        out.append(Check("cash", diff <= self.num, diff, self.num,
                         "t_i = payoff_i − U_i(Y*_i)"))
        bal = abs(float(np.sum(cash)))
        out.append(Check("cash-balance", bal <= self.num, bal, self.num, "Σ t_i = 0"))
        if claim.receipts is None:
            return out
        X = np.asarray(self.pool.positions, dtype=float)
        r = self.Y - X + cash[:, None]
        got = np.asarray(claim.receipts, dtype=float)
        diff = max(float(np.max(np.abs(got - r))), float(np.max(np.abs(got.sum(axis=0)))))
        out.append(Check("receipts", diff <= self.num, diff, self.num,
                         "r = Y* − X + t, and Σ_i r_i(ω) = 0 in every state"))
        if claim.collateral is None:
            return out
        owe = np.maximum(0.0, np.max(-r, axis=1))
        coll = np.asarray(claim.collateral, dtype=float)
        short = float(np.max(owe - coll))
        over = float(np.max(coll - owe))
        unit = float(claim.settlement_unit)
        out.append(Check("collateral-covers", short <= self.num, max(short, 0.0), self.num,
                         "collateral_i >= max(0, max_ω −r_i(ω))"))
        out.append(Check("collateral-rounding", over < unit + self.num, over, unit,
                         "collateral exceeds the most owed by less than one settlement unit"))
        return out


# ----------------------------------------------------------------------------- from a result
def check_result(result, *, draws: int = 1024, vertices: int = 128,
                 seed: int | None = None) -> tuple[Check, ...]:
    """Run the checks on a :class:`~riskshare.mechanism.MechanismResult` (duck-typed)."""
    from .measures import make_measure

    settings = result.settings
    measure = make_measure(result.menu, kappa=settings.mu_kappa,
                           centre=_centre(settings.mu_centre), positions=result.pool.positions,
                           weights=settings.mu_weights, probabilities=result.pool.probabilities)
    claim = claim_from_result(result)
    seed = settings.seed if seed is None else seed
    return check_equilibrium(result.pool, result.utilities, result.menu, measure, claim,
                             draws=draws, vertices=vertices, seed=seed)


def _centre(centre):
    return centre if isinstance(centre, str) else np.asarray(centre, dtype=float)


def claim_from_result(result) -> Claim:
    """The :class:`Claim` a mechanism result makes."""
    auction = result.auction
    transfers = None if auction is None else np.asarray(auction.transfers, dtype=float)
    eff = result.efficient
    return Claim(
        allocation=np.asarray(eff.allocation, dtype=float), order=tuple(result.order),
        schedules=tuple(result.schedules), mu_integrals=tuple(result.mu_integrals),
        stage_payoffs=result.stage_payoffs, lipschitz_cap=result.lipschitz_cap,
        epsilon=result.settings.epsilon, metric=result.settings.metric,
        welfare=float(eff.welfare), supergradients=getattr(eff, "supergradients", None),
        surplus=result.surplus, payoffs=result.payoffs,
        bids=None if auction is None else result.bids,
        auction_winner=None if auction is None else auction.winner,
        auction_transfers=transfers, cash=result.cash, receipts=result.receipts,
        collateral=result.collateral, settlement_unit=result.settings.settlement_unit)
