"""MGE, the Masterplan Generation Engine: a masterplan in, validated code out."""

__version__ = "0.1.0"
