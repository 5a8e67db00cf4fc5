"""Trust: a spec or bundle from elsewhere runs none of its own code until the user says so.

Importing a tools module runs it. ann imports the tools file a spec or bundle names only when the
file lies inside that spec's or bundle's own folder — symlinks resolved, so neither an absolute
path, a ``..`` nor a link leads out — and, for a bundle, still has the sha256 recorded when the
bundle was written. Anything else needs ``--trust-tools`` (``trust_tools=True`` in Python).

A spec records no hash: it is a file the user writes next to their tools, so a tools file in the
spec's folder is trusted as the spec itself is. API descriptions (JSON/YAML tools files) run no
code when read, but they choose which URLs agents call, so the same rule holds for them.
"""

from __future__ import annotations

from pathlib import Path

from ann.errors import TrustError
from ann.tools.module import tools_digest


def tools_refusal(tools: str | Path, folder: Path, *, recorded: str | None, bundle: bool) -> str | None:
    """Why the tools file named by a spec or bundle in ``folder`` may not be imported; None if it may.

    Args:
        tools: The tools file, as the spec or bundle names it (relative paths are read from ``folder``).
        folder: The folder of the spec or bundle file.
        recorded: The sha256 the bundle recorded for its tools file (None for a spec).
        bundle: Whether the file naming the tools is a bundle (then ``recorded`` must match).
    """
    home = folder.resolve()
    path = (folder / tools).resolve()
    if not path.is_relative_to(home):
        return f"it lies outside the {'bundle' if bundle else 'spec'}'s folder {home}"
    if not bundle or not path.is_file():
        return None  # a missing file is reported by the loader, which names it
    if recorded is None:
        return "the bundle records no sha256 for it"
    if tools_digest(path) != recorded:
        return "its sha256 differs from the one recorded in the bundle (it changed after the bundle was written)"
    return None


def check_tools(
    tools: str | Path | None, source: Path, *, recorded: str | None = None, bundle: bool = False, trust: bool = False
) -> None:
    """Refuse to go on if the tools file named by ``source`` (a spec or bundle) is not trusted.

    Args:
        tools: The tools file the spec or bundle names, or None.
        source: The spec or bundle file.
        recorded: The bundle's recorded sha256 of its tools file.
        bundle: Whether ``source`` is a bundle.
        trust: The user trusts the tools file whatever it is (``--trust-tools``).

    Raises:
        TrustError: One line naming the tools file and why it is refused.
    """
    if tools is None or trust:
        return
    reason = tools_refusal(tools, source.parent, recorded=recorded, bundle=bundle)
    if reason is not None:
        raise TrustError(f"{source}: not importing tools file {tools}: {reason}; "
                         "pass --trust-tools to import it anyway")  # fmt: skip
