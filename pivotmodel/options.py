"""Argument types for the command line: each option's valid range, checked by argparse before
any work starts (a bad value is one message naming the option and its range, exit code 2)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

__all__ = ["JOBS", "SEED", "QUARTER", "float_between", "int_at_least"]


def int_at_least(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(
                f"must be in [{low}, {high}], got {value}"
                if high is not None
                else f"must be at least {low}, got {value}"
            )
        return value

    return parse


def float_between(low: float, high: float, open_low: bool = False, open_high: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in the interval given (open or closed at each end)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        below = value <= low if open_low else value < low
        above = value >= high if open_high else value > high
        if value != value or below or above:
            span = f"{'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
            raise argparse.ArgumentTypeError(f"must be in {span}, got {text}")
        return value

    return parse


SEED = int_at_least(0, 2**63 - 1)
JOBS = int_at_least(1, max(os.cpu_count() or 1, 1))


def QUARTER(text: str) -> str:  # noqa: N802 - an argparse type, named like JOBS and SEED
    """An argparse type: a fiscal quarter label such as FY2025Q2 (checked without importing
    the period module, which loads numpy)."""
    import re

    if not re.fullmatch(r"FY\d{4}Q[1-4]", text.strip()):
        raise argparse.ArgumentTypeError(f"must be a fiscal quarter like FY2025Q2, got {text!r}")
    return text.strip()
