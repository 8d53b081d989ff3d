"""One small cache for values derived from objects that live as long as the catalog."""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["IdentityCache"]

V = TypeVar("V")


class IdentityCache(Generic[V]):
    """Map (objects, plain key) -> value, with the objects compared by identity.

    Frozen model objects are expensive to hash (they hold whole rule trees and
    pint quantities), so entries are keyed by ``id()``. The objects are stored
    with the value, so their ids cannot be reused by other objects while the
    entry exists. The cache is cleared when it reaches ``limit`` entries, which
    bounds memory over a cohort.
    """

    def __init__(self, limit: int = 1024) -> None:
        self._limit = limit
        self._entries: dict[tuple[tuple[int, ...], Hashable], tuple[tuple[object, ...], V]] = {}

    def get(self, owners: tuple[object, ...], key: Hashable, make: Callable[[], V]) -> V:
        """Return the value for ``owners`` and ``key``, computing it with ``make`` on a miss."""
        slot = (tuple(map(id, owners)), key)
        hit = self._entries.get(slot)
        if hit is not None and len(hit[0]) == len(owners) and all(map(operator.is_, hit[0], owners)):
            return hit[1]
        value = make()
        if len(self._entries) >= self._limit:
            self._entries.clear()
        self._entries[slot] = (owners, value)
        return value

    def values(self) -> list[V]:
        """The cached values (a snapshot)."""
        return [value for _, value in list(self._entries.values())]

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()
