"""Modules imported on first use, so registering a command (``pivotmodel --help``) does not
pay for numpy, pandas or scipy that only running the command needs."""

from __future__ import annotations

import importlib
import sys
from typing import Any

__all__ = ["lazy"]


class _LazyModule:
    def __init__(self, name: str):
        self.__dict__["_name"] = name

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self.__dict__["_name"])
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self.__dict__['_name']!r}>"


def lazy(name: str) -> Any:
    """The module ``name`` if already imported, else a stand-in that imports it on first
    attribute access."""
    return sys.modules.get(name) or _LazyModule(name)
