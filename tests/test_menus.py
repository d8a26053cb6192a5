"""Menus: shares <-> allocations, adjoint map, membership, vertices (spec §3)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from riskshare import ComonotoneMenu, FiniteMenu, MenuError, SignMenu

aggregates = arrays(np.float64, st.integers(1, 7),
                    elements=st.sampled_from([-5.0, -3.0, -1.5, 0.0, 2.0, -0.25, 4.0]))


@pytest.mark.parametrize("cls", [SignMenu, ComonotoneMenu], ids=["sign", "comonotone"])
@settings(max_examples=60, deadline=None)
@given(X=aggregates, n=st.integers(2, 4), seed=st.integers(0, 2**31))
def test_roundtrip_and_adjoint(cls, X, n, seed):
    rng = np.random.default_rng(seed)
    menu = cls(X, n)
    S = menu.sample_shares(rng, 3)
    Y = menu.allocation(S)
    np.testing.assert_allclose(Y.sum(axis=1), np.broadcast_to(X, (3, X.size)), atol=1e-12)
    np.testing.assert_allclose(menu.shares(Y), S, atol=1e-9)
    assert all(menu.contains(y) for y in Y)
    Q = rng.random((3, n, X.size))
    np.testing.assert_allclose((Q * Y).sum(-1), (menu.marginal_values(Q) * S).sum(-1),
                               atol=1e-9)


def test_sign_menu_bounds_and_zero_states():
    X = np.array([-4.0, 0.0, 3.0])
    menu = SignMenu(X, 2)
    assert menu.n_blocks == 2
    assert menu.contains(np.array([[-4.0, 0.0, 1.0], [0.0, 0.0, 2.0]]))
    # a share outside [0, 1] (agent 1 gains in the loss state) is not in the menu
    assert not menu.contains(np.array([[1.0, 0.0, 1.0], [-5.0, 0.0, 2.0]]))
    # something in a state where X = 0 is not in the menu
    assert not menu.contains(np.array([[-4.0, 1.0, 1.0], [0.0, -1.0, 2.0]]))


def test_comonotone_layers_and_membership():
    X = np.array([-3.0, -1.0, 0.0, 2.0])
    menu = ComonotoneMenu(X, 2)
    np.testing.assert_allclose(menu.layer_bounds, [[-1, 0], [-3, -1], [0, 2]])
    # agent 1 takes the first loss layer, agent 2 the deeper one (a stop-loss)
    Y = menu.allocation(np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]]))
    np.testing.assert_allclose(Y, [[-1, -1, 0, 1], [-2, 0, 0, 1]])
    assert menu.contains(Y)
    # proportional sharing is comonotone; a non-monotone split is not
    assert menu.contains(np.outer([0.3, 0.7], X))
    assert not menu.contains(np.array([[-3.0, 0.0, 0.0, 2.0], [0.0, -1.0, 0.0, 0.0]]))


def test_vertices_enumerated_and_capped():
    menu = SignMenu(np.array([-1.0, -2.0]), 3)
    V = list(menu.vertices())
    assert len(V) == 9 == menu.n_vertices
    assert len({v.tobytes() for v in V}) == 9
    big = SignMenu(-np.ones(40), 3)
    with pytest.raises(MenuError):
        next(big.vertices())


def test_finite_menu():
    items = np.zeros((2, 2, 3))
    items[1, 0] = [-1.0, 0.0, 0.0]
    menu = FiniteMenu(items)
    assert menu.size == 2 and menu.n == 2 and menu.m == 3
    assert menu.contains(items[1]) and not menu.contains(items[1] + 1.0)
