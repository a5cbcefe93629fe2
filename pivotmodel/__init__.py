"""pivotmodel: a scenario and Monte Carlo model of Alibaba Group's pivot to AI and cloud."""

import copyreg
from types import MappingProxyType

__version__ = "0.1.0"


# The loaded inputs are frozen with read-only mappings; let them (and everything holding them)
# be pickled, so worker processes can be started by spawn as well as fork.
def _read_only(mapping: dict) -> MappingProxyType:
    return MappingProxyType(mapping)


copyreg.pickle(MappingProxyType, lambda m: (_read_only, (dict(m),)))
__all__ = ["__version__"]
