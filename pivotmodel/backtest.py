"""``pivotmodel timeline`` and ``pivotmodel backtest`` (see below)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    pass
