"""airrc: the AI Risk Reduction Center node."""

__version__ = "0.1.0"

__all__ = ["__version__"]
