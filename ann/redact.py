"""redact(): keep secrets from the environment out of every text ann writes or shows.

ann sends keys where the user allows (a provider, an HTTP tool's host), and what comes back may
quote them: a provider's 401 names the key it got, an API echoes its ``Authorization`` header.
Such text goes into traces, bundles, logs and error messages, so it passes through `redact` first.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

__all__ = ["MASK", "redact", "secret_values"]

MASK = "[redacted]"
# Environment variables named like this hold secrets (OPENAI_API_KEY, HF_TOKEN, DB_PASSWORD, ...).
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.IGNORECASE)
# Shorter values ("1", "true") are settings, not secrets, and masking them would garble text.
_MIN_LENGTH = 8
_TOOL_ENV = "ANN_TOOL_ENV"  # the variables HTTP tool headers may read (see ann.tools.http)
# Credentials written into a URL: scheme://user:password@host. The scheme starts a word and is
# short, so a long run of letters (a hostile file's value quoted in an error) is scanned once, not
# once per starting letter.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://)[^/\s@]+@")


def secret_values(extra: Iterable[str | None] = ()) -> list[str]:
    """The secrets to mask, longest first: the values of environment variables named like a key or
    token, of those HTTP tool headers may read, and ``extra`` (e.g. a key passed in code)."""
    names = {name for name in os.environ if _SECRET_NAME.search(name)}
    names |= {entry.split("@")[0].strip() for entry in os.environ.get(_TOOL_ENV, "").split(",")}
    values = {os.environ.get(name, "") for name in names} | {value or "" for value in extra}
    return sorted((value for value in values if len(value) >= _MIN_LENGTH), key=len, reverse=True)


def redact(text: str, extra: Iterable[str | None] = ()) -> str:
    """``text`` with every secret (see `secret_values`) and every URL's ``user:password@`` replaced
    by ``[redacted]``.

    Example:
        >>> os.environ["OPENAI_API_KEY"] = "sk-abc123456789"
        >>> redact("Incorrect API key provided: sk-abc123456789")
        'Incorrect API key provided: [redacted]'
    """
    for value in secret_values(extra):
        if value in text:
            text = text.replace(value, MASK)
    return _URL_CREDENTIALS.sub(lambda match: f"{match['scheme']}{MASK}@", text)
