"""The Python examples of the README run and give certified, consistent results."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_examples_run_and_certify(capsys):
    blocks = _blocks()
    assert len(blocks) == 2
    scope: dict = {}
    exec(compile(blocks[0], "README:three-farmers", "exec"), scope)
    result = scope["result"]
    assert result.relative_gap <= 1e-7
    assert result.upper_bound >= result.welfare
    np.testing.assert_allclose(result.allocation.sum(axis=0), scope["pool"].aggregate)

    fresh: dict = {}      # the five-agent example stands alone: its own imports
    exec(compile(blocks[1], "README:five-agents", "exec"), fresh)
    out = fresh["out"]
    assert all(c.passed for c in out.checks)
    assert abs(out.cash.sum()) <= 1e-6 * np.abs(out.pool.aggregate).max()
    n = out.pool.n
    mu = np.array([e.value for e in out.mu_integrals])
    np.testing.assert_allclose(out.payoffs, mu + out.surplus.value / n, rtol=1e-9)
    np.testing.assert_allclose(out.bids, out.surplus.value * (n - 1) / n, rtol=1e-9)


def test_readme_says_what_example_and_verify_do():
    text = README.read_text()
    assert "`riskshare example NAME`" in text and "`three-farmers` is the one" in text
    assert "`riskshare verify DIR` recomputes" in text and "it does not" in text
