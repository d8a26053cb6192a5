"""Pool validation: each broken rule raises its own error naming the field."""

import numpy as np
import pytest

from riskshare import (
    DuplicateNameError,
    NonFiniteError,
    Pool,
    ProbabilityError,
    ShapeError,
    TooFewAgentsError,
)

X = np.array([[0.0, -1.0, -5.0], [0.0, -2.0, -1.0]])


def test_defaults_and_aggregate():
    pool = Pool(X)
    assert pool.n == 2 and pool.m == 3
    np.testing.assert_allclose(pool.probabilities, [1 / 3] * 3)
    np.testing.assert_allclose(pool.aggregate, [0.0, -3.0, -6.0])
    assert pool.names == ("agent 1", "agent 2")


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"positions": [[0.0, np.nan], [1.0, 2.0]]}, NonFiniteError, "positions"),
        ({"positions": [[0.0, np.inf], [1.0, 2.0]]}, NonFiniteError, "positions"),
        ({"positions": [0.0, 1.0]}, ShapeError, "positions"),
        ({"positions": [[0.0, 1.0]]}, TooFewAgentsError, "positions"),
        ({"positions": X, "probabilities": [0.5, 0.5]}, ShapeError, "probabilities"),
        ({"positions": X, "probabilities": [0.5, 0.6, -0.1]}, ProbabilityError, "probabilities"),
        ({"positions": X, "probabilities": [0.5, 0.5, 0.0]}, ProbabilityError, "probabilities"),
        ({"positions": X, "probabilities": [0.5, 0.3, 0.3]}, ProbabilityError, "probabilities"),
        ({"positions": X, "names": ["a", "a"]}, DuplicateNameError, "names"),
        ({"positions": X, "names": ["a"]}, ShapeError, "names"),
    ],
    ids=["nan", "inf", "1d", "one-agent", "p-length", "p-negative", "p-zero-mass", "p-sum",
         "duplicate", "names-length"],
)
def test_bad_input_names_field(kwargs, error, field):
    with pytest.raises(error) as info:
        Pool(**kwargs)
    assert isinstance(info.value, ValueError)
    assert info.value.field == field
    assert "Fix:" in str(info.value)


def test_immutable_and_rescaled():
    pool = Pool(X, names=["a", "b"])
    with pytest.raises(ValueError):
        pool.positions[0, 0] = 1.0
    cents = pool.rescaled(100.0)
    np.testing.assert_allclose(cents.positions, 100 * X)
    assert cents.names == pool.names
