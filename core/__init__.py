"""Recurrence Lab numerics: three recurrences run forward, differentiated backward, inverted.

Nothing in this package imports Streamlit. Every array function gets its array namespace
``xp`` from its arguments (see :mod:`core.backend`), so the same code runs on NumPy,
array-api-strict and CuPy.
"""

__version__ = "0.1.0"
