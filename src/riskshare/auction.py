r"""First-mover auction with a commit-reveal tie-break (spec §9).

Notation: ``n`` agents with names ``names``, bids ``b_i >= 0`` in the pool's
money unit, surplus ``S = max W - sum_i ∫ U_i dμ``. The highest bid wins the
right to move first; the winner pays its bid ``P``, and each of the other
``n - 1`` agents receives the rebate ``P / (n - 1)``. In equilibrium every agent
bids ``S (n - 1) / n`` (all bids tie) and every agent's expected payoff is
``∫ U_i dμ + S / n``.

Tie-break protocol (commit-reveal, version ``riskshare.commit-reveal.v1``):

1. Every agent ``i`` picks a secret ``s_i`` (at least 16 bytes) and publishes the
   commitment ``c_i = SHA-256(tag_commit || len(name_i) || name_i || len(s_i) || s_i)``
   (:func:`commit`). Binding the name stops one agent copying another's
   commitment.
2. Once all commitments are public, every agent reveals ``s_i``. A missing
   reveal, or a reveal whose hash is not ``c_i``, aborts the draw with a
   :class:`~riskshare.CommitRevealError` that names the agent(s).
3. The draw seed is ``SHA-256(tag_seed || context || every (name, secret) in
   sorted name order)``: it depends on *all* secrets, so one honest agent with a
   fresh secret makes it unpredictable to the others, and no single agent can
   steer it after seeing the commitments.
4. The index in ``0..k-1`` comes from the stream ``SHA-256(tag_stream || seed ||
   counter)``: take the top ``bit_length(k - 1)`` bits of each block and accept
   the first value ``< k`` (rejection sampling, no modulo bias).

The public record (commitments, reveals in hex, context, seed, attempts, index)
lets anyone recompute the draw with :func:`verify_tie_break`.

In a single-process run (``secrets=None``) each agent's secret is derived from
the public seed and its name. That makes runs reproducible, but anyone who knows
the seed can predict the draw: it is *not* a protection against a party. A run
among parties who do not trust each other passes real secrets (for instance
``secrets.token_bytes(32)`` per party) and the commitments collected beforehand.

Amounts here are floats in money units; ``rebate_each = P / (n - 1)`` is a float
and ``rebate_each * (n - 1)`` may differ from ``P`` by rounding in the last
bit. Integer rounding happens once, at settlement (``riskshare.settlement``),
by a rule that makes every split add up to the unit with no unit stranded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ._errors import CommitRevealError, DuplicateNameError, ShapeError, TooFewAgentsError
from ._validate import finite_array

__all__ = [
    "PROTOCOL",
    "AuctionResult",
    "commit",
    "derived_secret",
    "draw_index",
    "verify_tie_break",
    "run_auction",
    "equilibrium_bids",
]

PROTOCOL = "riskshare.commit-reveal.v1"
MIN_SECRET_BYTES = 16
_TAG_COMMIT = b"riskshare/commit/v1\x00"
_TAG_SEED = b"riskshare/draw-seed/v1\x00"
_TAG_STREAM = b"riskshare/draw-stream/v1\x00"
_TAG_DERIVED = b"riskshare/derived-secret/v1\x00"
_MAX_ATTEMPTS = 4096  # each attempt accepts with probability > 1/2


def _field(data: bytes) -> bytes:
    """Length-prefixed encoding: 8-byte big-endian length, then the bytes."""
    return len(data).to_bytes(8, "big") + data


def commit(party: str, secret: bytes) -> str:
    """Commitment of ``party`` to ``secret``: hex SHA-256 of a domain-separated encoding.

    Parameters
    ----------
    party : str
        The agent's name (bound into the commitment).
    secret : bytes
        The agent's secret.

    Returns
    -------
    str
        64 hex digits.
    """
    payload = _TAG_COMMIT + _field(party.encode("utf-8")) + _field(bytes(secret))
    return hashlib.sha256(payload).hexdigest()


def derived_secret(seed: int | str, party: str) -> bytes:
    """Secret of ``party`` derived from the public ``seed`` (single-process runs only).

    Reproducible and predictable by anyone who knows the seed; see the module notes.
    """
    payload = _TAG_DERIVED + _field(str(seed).encode("utf-8")) + _field(party.encode("utf-8"))
    return hashlib.sha256(payload).digest()


def _check_reveals(commitments: Mapping[str, str], reveals: Mapping[str, bytes]) -> None:
    """Raise :class:`CommitRevealError` naming every party whose reveal fails."""
    unknown = sorted(set(reveals) - set(commitments))
    if unknown:
        raise CommitRevealError("tie_break.reveals", unknown,
                                "only parties that committed may reveal",
                                "collect a commitment from every party before the reveals")
    missing = sorted(set(commitments) - set(reveals))
    if missing:
        raise CommitRevealError("tie_break.reveals", missing,
                                f"party(ies) {', '.join(missing)} did not reveal",
                                "every committed party must reveal its secret")
    short = sorted(p for p, s in reveals.items() if len(s) < MIN_SECRET_BYTES)
    if short:
        raise CommitRevealError("tie_break.reveals", short,
                                f"secrets must have at least {MIN_SECRET_BYTES} bytes",
                                "draw secrets with secrets.token_bytes(32)")
    wrong = sorted(p for p in commitments if commit(p, reveals[p]) != commitments[p].lower())
    if wrong:
        raise CommitRevealError("tie_break.reveals", wrong,
                                f"secret of {', '.join(wrong)} does not match its commitment",
                                "reveal exactly the secret that was committed")


def _draw_seed(reveals: Mapping[str, bytes], context: bytes) -> bytes:
    parts = [_TAG_SEED, _field(context)]
    for party in sorted(reveals):
        parts.append(_field(party.encode("utf-8")) + _field(bytes(reveals[party])))
    return hashlib.sha256(b"".join(parts)).digest()


def _uniform_index(seed: bytes, k: int) -> tuple[int, int]:
    """Uniform index in ``0..k-1`` from the hash stream of ``seed``; returns (index, attempts)."""
    bits = (k - 1).bit_length()
    for counter in range(_MAX_ATTEMPTS):
        block = hashlib.sha256(_TAG_STREAM + seed + counter.to_bytes(8, "big")).digest()
        value = int.from_bytes(block, "big") >> (256 - bits)
        if value < k:
            return value, counter + 1
    raise CommitRevealError("tie_break.k", k, "the hash stream never accepted",
                            "report this: it happens with probability below 2^-4096")


def draw_index(commitments: Mapping[str, str], reveals: Mapping[str, bytes], k: int,
               context: bytes = b"") -> tuple[int, dict]:
    """Uniform draw in ``0..k-1`` derived from all revealed secrets.

    Parameters
    ----------
    commitments : mapping str -> str
        Hex commitment of every party (:func:`commit`).
    reveals : mapping str -> bytes
        Revealed secret of every party.
    k : int
        Number of outcomes, ``1 <= k <= 2**64``.
    context : bytes
        Public bytes that bind the draw to one auction.

    Returns
    -------
    index : int
    record : dict
        JSON-ready public record; :func:`verify_tie_break` replays it.

    Raises
    ------
    CommitRevealError
        A party did not reveal, revealed a secret that does not match, or
        revealed a secret shorter than 16 bytes (all such parties are named).
    """
    if not isinstance(k, int | np.integer) or not 1 <= int(k) <= 2**64:
        raise CommitRevealError("tie_break.k", k, "an integer from 1 to 2**64",
                                "give the number of tied parties")
    if not commitments:
        raise CommitRevealError("tie_break.commitments", {}, "at least one party",
                                "collect a commitment from every party")
    _check_reveals(commitments, reveals)
    seed = _draw_seed(reveals, bytes(context))
    index, attempts = _uniform_index(seed, int(k))
    record = {
        "protocol": PROTOCOL,
        "k": int(k),
        "context": bytes(context).hex(),
        "commitments": {p: commitments[p].lower() for p in sorted(commitments)},
        "reveals": {p: bytes(reveals[p]).hex() for p in sorted(reveals)},
        "seed": seed.hex(),
        "attempts": attempts,
        "index": index,
    }
    return index, record


def verify_tie_break(record: Mapping) -> int:
    """Recompute the draw of a public record and return its index.

    Raises
    ------
    CommitRevealError
        A reveal does not match its commitment, or the recorded seed, attempts,
        index (or winner, when the record names the tied parties) differ from
        the recomputation.
    """
    if record.get("protocol") != PROTOCOL:
        raise CommitRevealError("tie_break.protocol", record.get("protocol"),
                                f"expected {PROTOCOL!r}", "replay with the matching version")
    try:
        reveals = {p: bytes.fromhex(h) for p, h in record["reveals"].items()}
        context = bytes.fromhex(record["context"])
        index, fresh = draw_index(record["commitments"], reveals, int(record["k"]), context)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, CommitRevealError):
            raise
        raise CommitRevealError("tie_break", type(exc).__name__, "a complete record",
                                "pass the record as written by run_auction") from exc
    for key in ("seed", "attempts", "index"):
        if record.get(key) != fresh[key]:
            raise CommitRevealError(f"tie_break.{key}", record.get(key),
                                    f"recomputation gives {fresh[key]!r}",
                                    "the record was altered; use the original")
    tied = record.get("tied")
    if tied is not None and record.get("winner") != tied[index]:
        raise CommitRevealError("tie_break.winner", record.get("winner"),
                                f"recomputation gives {tied[index]!r}",
                                "the record was altered; use the original")
    return index


@dataclass(frozen=True, eq=False)
class AuctionResult:
    """Outcome of the first-mover auction.

    Attributes
    ----------
    bids : ndarray, shape (n,)
        The bids, money units.
    names : tuple of str
        Agent names, in the order of ``bids``.
    winner : int
        Index of the agent who moves first.
    tied : tuple of int
        Indices of the highest bidders (ascending); the winner is one of them.
    tie_break : dict
        Public commit-reveal record (always present; ``k = len(tied)``, and the
        draw is trivial when ``k = 1``). Also holds ``tied``, ``winner`` (names)
        and ``secret_source`` (``"derived-from-seed"`` or ``"supplied"``).
    payment : float
        The winner's bid, paid to the others.
    rebate_each : float
        ``payment / (n - 1)``, received by each non-winner (float; see module notes).
    method : str
        ``"highest-bid, commit-reveal tie-break"``.
    """

    bids: np.ndarray
    names: tuple[str, ...]
    winner: int
    tied: tuple[int, ...]
    tie_break: dict
    payment: float
    rebate_each: float
    method: str = "highest-bid, commit-reveal tie-break"

    @property
    def transfers(self) -> np.ndarray:
        """(n,) money each agent receives from the auction; sums to zero up to rounding."""
        out = np.full(len(self.names), self.rebate_each)
        out[self.winner] = -self.payment
        return out

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        return {
            "bids": [float(b) for b in self.bids],
            "names": list(self.names),
            "winner": self.names[self.winner],
            "tied": [self.names[i] for i in self.tied],
            "payment": self.payment,
            "rebate_each": self.rebate_each,
            "tie_break": self.tie_break,
            "method": self.method,
        }


def _check_names(names: Sequence[str], n: int) -> tuple[str, ...]:
    names = tuple(str(x) for x in names)
    if len(names) != n:
        raise ShapeError("auction.names", len(names), f"one name per bid ({n})",
                         "give as many names as bids")
    if len(set(names)) != n:
        dup = sorted({x for x in names if names.count(x) > 1})
        raise DuplicateNameError("auction.names", dup, "every agent needs its own name",
                                 "rename the duplicates")
    return names


def _check_bids(bids) -> np.ndarray:
    b = finite_array("auction.bids", bids, ndim=1)
    if b.size < 2:
        raise TooFewAgentsError("auction.bids", b.size, "n >= 2 bidders",
                                "an auction needs at least two agents")
    if np.any(b < 0):
        i = int(np.argmin(b))
        raise ShapeError("auction.bids", f"{b[i]} at index {i}", "bids must be >= 0",
                         "bid zero or more")
    return b


def _context(names: tuple[str, ...], bids: np.ndarray, tied: tuple[int, ...], seed) -> bytes:
    """Public bytes binding the draw to this auction (names, exact bids, tied set, seed)."""
    data = {"names": list(names), "bids": [float(x).hex() for x in bids],
            "tied": list(tied), "seed": str(seed)}
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")


def run_auction(bids, names: Sequence[str], *, seed: int | str,
                secrets: Mapping[str, bytes] | None = None,
                commitments: Mapping[str, str] | None = None,
                tie_tolerance: float = 0.0) -> AuctionResult:
    """Run the first-mover auction.

    Parameters
    ----------
    bids : array_like, shape (n,)
        Bids ``b_i >= 0`` in money units.
    names : sequence of str
        Agent names (unique), one per bid.
    seed : int or str
        Public seed; with ``secrets=None`` each secret is derived from it.
    secrets : mapping str -> bytes, optional
        Revealed secrets of a multi-party run (one per agent, >= 16 bytes).
    commitments : mapping str -> str, optional
        Commitments collected before the reveals. Default: computed from
        ``secrets`` (only meaningful in a single process).
    tie_tolerance : float
        Bids within this many money units of the highest count as tied (default:
        exact equality).

    Returns
    -------
    AuctionResult

    Raises
    ------
    ShapeError, DuplicateNameError, TooFewAgentsError
        Bad bids or names.
    CommitRevealError
        A party did not reveal or revealed a secret that does not match.
    """
    b = _check_bids(bids)
    names = _check_names(names, b.size)

    top = float(b.max())
    tied = tuple(int(i) for i in np.flatnonzero(b >= top - float(tie_tolerance)))

    source = "derived-from-seed" if secrets is None else "supplied"
    if secrets is None:
        secrets = {p: derived_secret(seed, p) for p in names}
    if commitments is None:
        commitments = {p: commit(p, secrets[p]) for p in names if p in secrets}
        missing = sorted(set(names) - set(secrets))
        if missing:
            raise CommitRevealError("tie_break.reveals", missing,
                                    f"party(ies) {', '.join(missing)} did not reveal",
                                    "every party must reveal its secret")
    outsiders = sorted(set(commitments) ^ set(names))
    if outsiders:
        raise CommitRevealError("tie_break.commitments", outsiders,
                                "exactly one commitment per bidder",
                                "collect commitments from the bidders and no one else")
    index, record = draw_index(commitments, secrets, len(tied), _context(names, b, tied, seed))

    winner = tied[index]
    payment = float(b[winner])
    record.update(tied=[names[i] for i in tied], winner=names[winner], secret_source=source)
    b.setflags(write=False)
    return AuctionResult(bids=b, names=names, winner=winner, tied=tied, tie_break=record,
                         payment=payment, rebate_each=payment / (b.size - 1))


def equilibrium_bids(surplus: float, n: int) -> np.ndarray:
    """Equilibrium bids ``S (n - 1) / n`` for every agent (spec §9).

    Parameters
    ----------
    surplus : float
        ``S = max W - sum_i ∫ U_i dμ`` (>= 0 in exact arithmetic).
    n : int
        Number of agents, ``n >= 2``.

    Raises
    ------
    ShapeError
        ``surplus`` negative or not finite (a negative estimate is an error of
        the μ-integrals: ``max W >= ∫ W dμ`` always), or ``n < 2``.
    """
    if int(n) < 2:
        raise TooFewAgentsError("auction.n", n, "n >= 2", "an auction needs two agents")
    s = float(surplus)
    if not np.isfinite(s) or s < 0:
        raise ShapeError("surplus", s, "a finite number >= 0",
                         "the surplus max W - Σ∫U_i dμ cannot be negative: check the "
                         "μ-integrals (clip an estimate within its standard error to 0)")
    return np.full(int(n), s * (int(n) - 1) / int(n))
