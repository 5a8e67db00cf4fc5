"""Tools: callables agents can use, with documentation that training (and DRAFT) can rewrite."""

from ann.tools.exploration import DraftRun, Episode
from ann.tools.module import load_tools
from ann.tools.tool import Tool, ToolResult

__all__ = ["DraftRun", "Episode", "Tool", "ToolResult", "load_tools"]
