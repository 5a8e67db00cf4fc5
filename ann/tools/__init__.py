"""Tools: callables agents can use, with documentation that training (and DRAFT) can rewrite."""

from ann.tools.tool import Tool, ToolResult

__all__ = ["Tool", "ToolResult"]
