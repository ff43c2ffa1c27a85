"""Lists that the cyclic garbage collector does not traverse.

A full pass of CPython's cyclic collector visits every item of every tracked container,
reading each item's header: for the logs each lead's state keeps (credits.CreditLog's
credits, state.CountLog's times, dedupe.IdLog's week runs), a cache miss per logged item,
about 11 ms a pass with 2,000 leads (bench/RESULTS.md, Session 13). A list is tracked from
its creation, and Python has no way to untrack one; the C API's PyObject_GC_UnTrack does.

Only lists that can never be part of a reference cycle may be untracked (a cycle through
one would never be freed): these logs hold numbers and Contributions (acyclic, credits.py)
and are held only by acyclic objects. Where ctypes is missing the lists stay tracked.
"""

from typing import Any, TypeVar

T = TypeVar("T")

_UNTRACK: Any = None
try:
    import ctypes

    _UNTRACK = ctypes.pythonapi.PyObject_GC_UnTrack
    _UNTRACK.argtypes = [ctypes.py_object]
    _UNTRACK.restype = None
except (ImportError, AttributeError):  # pragma: no cover - no ctypes, or not CPython
    pass


def untracked(items: list[T]) -> list[T]:
    """`items` itself, no longer tracked by the cyclic collector (see above)."""
    if _UNTRACK is not None:
        _UNTRACK(items)
    return items
