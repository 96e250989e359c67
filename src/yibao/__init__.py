"""yibao (医保): employee basic medical insurance — policy engine, administration, analysis."""

__version__ = "0.1.0"
__all__ = ["__version__"]
