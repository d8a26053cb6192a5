"""First-mover auction and commit-reveal tie-break (riskshare.auction)."""

import copy
import hashlib
import json

import numpy as np
import pytest
from scipy import stats

from riskshare import CommitRevealError, DuplicateNameError, ShapeError, TooFewAgentsError
from riskshare.auction import (
    commit,
    derived_secret,
    draw_index,
    equilibrium_bids,
    run_auction,
    verify_tie_break,
)
from riskshare.finite import solve_finite_game
from riskshare.settlement import round_amounts

NAMES = ("ann", "bob", "cy", "dee")


def _secrets(rng, names=NAMES):
    return {p: rng.bytes(32) for p in names}


def test_commit_is_sha256_of_a_length_prefixed_encoding():
    secret = b"s" * 16
    expected = hashlib.sha256(b"riskshare/commit/v1\x00" + (3).to_bytes(8, "big") + b"ann"
                              + (16).to_bytes(8, "big") + secret).hexdigest()
    assert commit("ann", secret) == expected
    # Binding the name and the length: moving a byte from name to secret changes it.
    assert commit("ab", b"c" * 16) != commit("a", b"b" + b"c" * 15)
    assert commit("ann", secret) != commit("bob", secret)


def test_missing_reveal_is_named():
    sec = _secrets(np.random.default_rng(1))
    com = {p: commit(p, s) for p, s in sec.items()}
    del sec["cy"]
    with pytest.raises(CommitRevealError, match="cy did not reveal") as info:
        draw_index(com, sec, 3)
    assert info.value.value == ["cy"]


def test_mismatching_secrets_are_named():
    sec = _secrets(np.random.default_rng(2))
    com = {p: commit(p, s) for p, s in sec.items()}
    sec["bob"] = b"x" * 32
    sec["dee"] = sec["ann"]
    with pytest.raises(CommitRevealError, match="bob, dee does not match") as info:
        draw_index(com, sec, 4)
    assert info.value.value == ["bob", "dee"]


@pytest.mark.parametrize("change, match", [
    (lambda com, sec: sec.update(eve=b"e" * 32), "eve"),
    (lambda com, sec: (sec.update(ann=b"short"), com.update(ann=commit("ann", b"short"))),
     "16 bytes"),
], ids=["outsider-reveals", "short-secret"])
def test_other_reveal_faults(change, match):
    sec = _secrets(np.random.default_rng(3))
    com = {p: commit(p, s) for p, s in sec.items()}
    change(com, sec)
    with pytest.raises(CommitRevealError, match=match):
        draw_index(com, sec, 2)


def test_draw_is_uniform_and_uses_rejection():
    # k = 3 takes 2 bits per block and rejects the value 3 (probability 1/4).
    rng = np.random.default_rng(4)
    counts, attempts = np.zeros(3, int), []
    for _ in range(3000):
        sec = _secrets(rng)
        index, record = draw_index({p: commit(p, s) for p, s in sec.items()}, sec, 3, b"ctx")
        counts[index] += 1
        attempts.append(record["attempts"])
    assert stats.chisquare(counts).pvalue > 1e-3
    assert 0.2 < np.mean(np.array(attempts) > 1) < 0.3


def test_every_party_moves_the_draw():
    # Changing one party's secret, the others fixed, redraws the index: it changes
    # with probability (k-1)/k, so no coalition of the others fixes the outcome.
    rng = np.random.default_rng(5)
    base = _secrets(rng)
    changed = 0
    for _ in range(500):
        sec = dict(base, dee=rng.bytes(32))
        index, _ = draw_index({p: commit(p, s) for p, s in sec.items()}, sec, 5)
        first, _ = draw_index({p: commit(p, s) for p, s in base.items()}, base, 5)
        changed += index != first
    assert 0.72 < changed / 500 < 0.88


def test_draw_depends_on_context():
    sec = _secrets(np.random.default_rng(6))
    com = {p: commit(p, s) for p, s in sec.items()}
    seeds = {draw_index(com, sec, 1000, bytes([c]))[1]["seed"] for c in range(20)}
    assert len(seeds) == 20


def test_highest_bid_wins_and_pays_the_others():
    res = run_auction([1.0, 2.5, 0.0, 2.0], NAMES, seed=1)

    assert res.winner == 1 and res.tied == (1,) and res.payment == 2.5
    assert res.rebate_each == pytest.approx(2.5 / 3)
    assert res.tie_break["k"] == 1 and res.tie_break["index"] == 0
    assert res.tie_break["winner"] == "bob"
    assert abs(res.transfers.sum()) < 1e-12
    assert verify_tie_break(res.tie_break) == 0


def test_all_bids_tied_draw_is_uniform_over_seeds():
    counts = np.zeros(4, int)
    for seed in range(4000):
        res = run_auction([3.0] * 4, NAMES, seed=seed)
        assert res.tied == (0, 1, 2, 3)
        counts[res.winner] += 1
    assert stats.chisquare(counts).pvalue > 1e-3


def test_partial_tie_only_tied_can_win():
    winners = {run_auction([1.0, 2.0, 2.0, 0.5], NAMES, seed=s).winner for s in range(60)}
    assert winners == {1, 2}


def test_tie_break_is_deterministic_and_replays():
    a = run_auction([3.0] * 4, NAMES, seed=42)
    b = run_auction([3.0] * 4, NAMES, seed=42)

    assert a.tie_break == b.tie_break and a.winner == b.winner
    assert a.tie_break["secret_source"] == "derived-from-seed"
    assert a.tie_break["reveals"]["ann"] == derived_secret(42, "ann").hex()
    assert verify_tie_break(a.tie_break) == a.tied.index(a.winner)
    assert verify_tie_break(json.loads(json.dumps(a.to_dict()["tie_break"]))) == \
        a.tied.index(a.winner)


@pytest.mark.parametrize("key, value", [
    ("index", "flip"), ("seed", "0" * 64), ("attempts", 99), ("winner", "flip-name"),
])
def test_altered_tie_break_record_is_rejected(key, value):
    rec = copy.deepcopy(run_auction([3.0] * 4, NAMES, seed=9).tie_break)
    if value == "flip":
        value = (rec["index"] + 1) % rec["k"]
    if value == "flip-name":
        value = next(p for p in rec["tied"] if p != rec["winner"])
    rec[key] = value
    with pytest.raises(CommitRevealError):
        verify_tie_break(rec)


def test_altered_reveal_in_record_names_the_party():
    rec = copy.deepcopy(run_auction([3.0] * 4, NAMES, seed=9).tie_break)
    rec["reveals"]["cy"] = "00" * 32
    with pytest.raises(CommitRevealError, match="cy"):
        verify_tie_break(rec)


def test_multi_party_run_with_commitments():
    rng = np.random.default_rng(8)
    sec = _secrets(rng)
    com = {p: commit(p, s) for p, s in sec.items()}
    res = run_auction([2.0] * 4, NAMES, seed=0, secrets=sec, commitments=com)
    assert res.tie_break["secret_source"] == "supplied"
    assert verify_tie_break(res.tie_break) == res.tied.index(res.winner)

    with pytest.raises(CommitRevealError, match="dee did not reveal"):
        run_auction([2.0] * 4, NAMES, seed=0, secrets={p: sec[p] for p in NAMES[:3]},
                    commitments=com)
    with pytest.raises(CommitRevealError, match="bob does not match"):
        run_auction([2.0] * 4, NAMES, seed=0, secrets=dict(sec, bob=rng.bytes(32)),
                    commitments=com)
    with pytest.raises(CommitRevealError, match="one commitment per bidder"):
        run_auction([2.0] * 4, NAMES, seed=0, secrets=sec,
                    commitments=dict(com, eve=commit("eve", b"e" * 16)))


def test_tie_tolerance():
    res = run_auction([1.0, 1.0 + 1e-13, 0.0], NAMES[:3], seed=3, tie_tolerance=1e-9)
    assert res.tied == (0, 1)


@pytest.mark.parametrize("bids, names, error", [
    ([1.0, -0.5], NAMES[:2], ShapeError),
    ([1.0], NAMES[:1], TooFewAgentsError),
    ([1.0, 2.0], ("a", "a"), DuplicateNameError),
    ([1.0, 2.0], ("a",), ShapeError),
    ([1.0, float("inf")], NAMES[:2], ValueError),
], ids=["negative", "one-bidder", "duplicate", "names-length", "inf"])
def test_bad_auction_input(bids, names, error):
    with pytest.raises(error):
        run_auction(bids, names, seed=0)


def test_equilibrium_bids():
    np.testing.assert_allclose(equilibrium_bids(6.0, 4), [4.5] * 4)
    with pytest.raises(ShapeError):
        equilibrium_bids(-1e-3, 3)
    with pytest.raises(TooFewAgentsError):
        equilibrium_bids(1.0, 1)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_equilibrium_payoffs_are_integral_plus_equal_share(n):
    # Spec §9: with bids S(n-1)/n every agent ends with ∫U_i dμ + S/n, whoever wins
    # the draw: the winner moves first and pays its bid, the others get the rebates.
    rng = np.random.default_rng(n)
    V = rng.normal(size=(5, n))
    base = solve_finite_game(V)
    bids = equilibrium_bids(base.surplus, n)
    names = [f"a{i}" for i in range(n)]
    winners = set()
    for seed in range(12):
        res = run_auction(bids, names, seed=seed)
        winners.add(res.winner)
        order = (res.winner,) + tuple(i for i in range(n) if i != res.winner)
        game = solve_finite_game(V, order=order)
        final = game.agent_payoffs + res.transfers
        np.testing.assert_allclose(final, base.mu_integrals + base.surplus / n, atol=1e-12)
    assert len(winners) > 1


def test_rebates_add_up_to_the_cent():
    # Payment 1.00 among 3 others: 100 cents = 34 + 33 + 33, the spare cent to the
    # earliest non-winner (equal remainders); nothing stranded.
    res = run_auction([0.0, 1.0, 0.0, 0.0], NAMES, seed=0)
    assert round_amounts(res.transfers, 0.01).tolist() == [34, -100, 33, 33]

    rng = np.random.default_rng(10)
    for _ in range(200):
        n = int(rng.integers(2, 9))
        bids = np.round(rng.uniform(0, 50, size=n), int(rng.integers(0, 5)))
        res = run_auction(bids, [f"a{i}" for i in range(n)], seed=0)
        cents = round_amounts(res.transfers, 0.01)
        assert cents.sum() == 0
        assert np.all(np.abs(cents - res.transfers / 0.01) < 1)
