"""Tools: callables agents can use, with documentation that training (and DRAFT) can rewrite."""

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:  # what type checkers and editors see; at run time, lazy_loader below
    from ann.tools.exploration import DraftRun, Episode
    from ann.tools.module import load_tools
    from ann.tools.tool import Tool, ToolResult

# Each public name, by the module that defines it: imported on first use (PEP 562).
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "exploration": ["DraftRun", "Episode"],
        "module": ["load_tools"],
        "tool": ["Tool", "ToolResult"],
    },
)

__all__ = ["DraftRun", "Episode", "Tool", "ToolResult", "load_tools"]
