"""Interop with other frameworks: DSPy programs in (``from_dspy``) and out (``export_dspy``).

Importing this package imports neither DSPy nor the graph machinery; each function does that itself.
"""

from ann.interop.dspy_export import export_dspy
from ann.interop.dspy_import import from_dspy

__all__ = ["export_dspy", "from_dspy"]
