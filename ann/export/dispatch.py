"""export_bundle: a bundle in one of the export formats, as text.

The graph is rebuilt from the bundle without importing its tools module (a Python tools file is
parsed for its functions' names and docstrings, as ``ann show`` does), so exporting runs no code
from the bundle.
"""

from __future__ import annotations

from pathlib import Path

from ann.build import graph_from_spec
from ann.bundle import Bundle, restore_params
from ann.errors import ConfigError
from ann.graph import Graph
from ann.tools.module import read_tools

FORMATS = ("prompts", "markdown", "mermaid", "graphml", "python", "dspy")


def bundle_graph(bundle: Bundle, source: str | Path) -> Graph:
    """The bundle's graph with its trained param values, its tools read but not imported."""
    spec = bundle.spec
    graph = graph_from_spec(spec, source=source, tools=read_tools(spec.tools) if spec.tools else {})
    restore_params(graph, bundle)
    return graph


def export_bundle(bundle: Bundle, fmt: str, *, source: str | Path = "bundle") -> str:
    """The bundle exported as ``fmt`` (one of ``FORMATS``).

    Args:
        bundle: A loaded bundle (``ann.bundle.load_bundle``).
        fmt: The format name.
        source: Where the bundle came from, for error messages.

    Returns:
        The exported text (JSON, Markdown, Mermaid, GraphML, or Python source: standalone or DSPy).

    Raises:
        ConfigError: An unknown format, a bundle whose graph cannot be built, or (``python``) a
            graph with tool agents.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")
    if fmt == "dspy":
        from ann.interop.dspy_export import export_dspy  # works from the bundle's data alone

        return export_dspy(bundle)
    graph = bundle_graph(bundle, source)
    if fmt == "prompts":
        from ann.export.chat import export_prompts  # needs the adapter, hence DSPy: imported only when used

        return export_prompts(graph, bundle.spec)
    if fmt == "markdown":
        from ann.export.markdown import export_markdown

        return export_markdown(graph, bundle)
    if fmt == "mermaid":
        from ann.export.mermaid import export_mermaid

        return export_mermaid(graph)
    if fmt == "graphml":
        from ann.export.graphml import export_graphml

        return export_graphml(graph)
    from ann.export.standalone import export_python

    return export_python(graph, bundle.spec, version=bundle.ann_version)
