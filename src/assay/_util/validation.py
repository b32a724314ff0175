"""Argument checking with stable, explicit error messages.

Every message names the argument, what was expected and what was received, in the
style of scikit-learn's parameter validation:
``The 'thresholds' parameter of evaluate must be ... Got ... instead.``
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any


def param_error(param: str, expected: str, got: Any, *, func: str) -> ValueError:
    """Build the standard ``ValueError`` for a parameter with a bad value."""
    return ValueError(f"The {param!r} parameter of {func} must be {expected}. Got {got!r} instead.")


def param_type_error(param: str, expected: str, got: Any, *, func: str) -> TypeError:
    """Build the standard ``TypeError`` for a parameter of the wrong type."""
    return TypeError(
        f"The {param!r} parameter of {func} must be {expected}. "
        f"Got {got!r} of type {type(got).__name__} instead."
    )


def check_choice(param: str, value: Any, choices: Sequence[Any], *, func: str) -> Any:
    """Return ``value`` if it is one of ``choices``; raise the standard error otherwise."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise param_error(param, f"one of {{{listed}}}", value, func=func)
    return value


def check_int(
    param: str, value: Any, *, minimum: int | None = None, func: str
) -> int:
    """Return ``value`` as ``int`` if it is an integer at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | _np_integer()):
        raise param_type_error(param, "an int", value, func=func)
    number = int(value)  # type: ignore[call-overload]
    if minimum is not None and number < minimum:
        raise param_error(param, f"an int >= {minimum}", value, func=func)
    return number


def check_fraction(param: str, value: Any, *, func: str) -> float:
    """Return ``value`` if it is a float strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise param_type_error(param, "a float in the open interval (0, 1)", value, func=func)
    if not 0.0 < float(value) < 1.0:
        raise param_error(param, "a float in the open interval (0, 1)", value, func=func)
    return float(value)


def missing_column_error(kind: str, name: str, available: Iterable[str]) -> ValueError:
    """Error for a column that is not in the data, suggesting the closest name."""
    names = list(available)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(repr(n) for n in names[:20]) + (", ..." if len(names) > 20 else "")
    return ValueError(
        f"The {kind} column {name!r} is not in the data.{hint} Available columns: {shown}."
    )


def _np_integer() -> type:
    import numpy as np

    return np.integer
