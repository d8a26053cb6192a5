"""Monetary utilities and credal sets (spec §2)."""

from ._base import Entropic, Expectation, MonetaryUtility

__all__ = ["MonetaryUtility", "Expectation", "Entropic"]
