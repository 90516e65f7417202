"""Explicit registries filled by decorators.

A :class:`Registry` maps a key to an entry (usually a function or class plus
metadata). An unknown key raises ``KeyError`` listing the valid keys.
"""
from __future__ import annotations

from typing import Any, Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """A named, ordered mapping from keys to entries."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, key: str, entry: T) -> T:
        if key in self._entries:
            raise KeyError(f"{self.kind} registry: key {key!r} is already registered")
        self._entries[key] = entry
        return entry

    def register(self, key: str) -> Callable[[Callable], Callable]:
        """Decorator form: ``@REG.register("name")`` stores the object itself.

        Takes no metadata (a keyword argument is a ``TypeError``, never dropped): registries with
        metadata store an entry object through their own decorator (``register_metric``,
        ``register_method``) and :meth:`add`."""
        def deco(obj):
            self.add(key, obj)
            return obj
        return deco

    def __getitem__(self, key: str) -> T:
        try:
            return self._entries[key]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {key!r}; valid keys: {sorted(self._entries)}") from None

    def get(self, key: str, default: Any = None) -> Any:
        return self._entries.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self):
        return self._entries.keys()

    def values(self):
        return self._entries.values()

    def items(self):
        return self._entries.items()

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self)} entries: {list(self._entries)})"
