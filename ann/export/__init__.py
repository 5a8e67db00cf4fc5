"""Exports: a trained bundle as files other tools and people use (prompts, Markdown, diagrams)."""

from ann.export.dispatch import FORMATS, bundle_graph, export_bundle

__all__ = ["FORMATS", "bundle_graph", "export_bundle"]
