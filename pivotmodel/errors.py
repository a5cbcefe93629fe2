"""Input problems, collected across a run and reported together.

Each :class:`Problem` names the file, the key path (or CSV column), the line where there is
one, and what would be valid. Loading collects every problem it finds and raises one
:class:`InputError` holding them all, so an analyst fixes a file in one pass. The CLI
prints them and exits with code 2, without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Problem", "InputError", "did_you_mean"]


@dataclass(frozen=True)
class Problem:
    file: str
    key: str
    message: str
    line: int | None = None
    level: str = "error"  # error | warn

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class InputError(Exception):
    """One or more problems in the inputs; ``str()`` lists them all, one a line."""

    def __init__(self, problems: list[Problem]):
        self.problems = [p for p in problems if p.level == "error"]
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self):  # picklable, so errors cross process boundaries (spawn) intact
        return (type(self), (self.problems,))

    @classmethod
    def single(cls, file: str | Path, key: str, message: str, line: int | None = None) -> InputError:
        return cls([Problem(str(file), key, message, line)])


def did_you_mean(words: str | list[str], options) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``options`` to each of ``words``, or ``""``."""
    import difflib

    options = [str(o) for o in options]
    close = [
        m[0]
        for w in ([words] if isinstance(words, str) else words)
        if (m := difflib.get_close_matches(str(w), options, n=1, cutoff=0.6))
    ]
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
