"""gather_all: run awaitables side by side and let every one finish before a failure goes on.

``asyncio.gather`` raises the first failure at once and leaves the others running, owned by no
one: they keep calling the model after a budget has stopped the run, their own errors are never
read, and whatever still runs when the event loop closes is cancelled in the middle of a call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def gather_all(*awaitables: Awaitable[T]) -> list[T]:
    """Await all of ``awaitables`` concurrently and return their results in order.

    Raises:
        BaseException: Once every awaitable is done, the first failure in argument order.
    """
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return list(results)  # type: ignore[arg-type]  # no element is an exception here
