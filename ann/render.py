"""render(): the one way a prompt template becomes text.

Templates use ``{name}`` placeholders (``str.format`` syntax). A missing value raises instead of
leaving a hole in a prompt, and an unused value raises too, so a renamed placeholder cannot slip by.
"""

from __future__ import annotations

import string
from typing import Any

from ann.errors import AnnError


def placeholders(template: str) -> set[str]:
    """The placeholder names a template expects."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def render(template: str, **values: Any) -> str:
    """Fill a template.

    Args:
        template: Text with ``{name}`` placeholders; literal braces are written ``{{`` and ``}}``.
        **values: One value per placeholder.

    Returns:
        The filled text.

    Raises:
        AnnError: A placeholder has no value, or a value has no placeholder.
    """
    expected = placeholders(template)
    missing = expected - values.keys()
    extra = values.keys() - expected
    if missing or extra:
        raise AnnError(
            f"template placeholders do not match values: missing {sorted(missing)}, unexpected {sorted(extra)}"
        )
    return template.format(**values)
