"""pivotmodel: a scenario and Monte Carlo model of Alibaba Group's pivot to AI and cloud."""

__version__ = "0.1.0"
__all__ = ["__version__"]
