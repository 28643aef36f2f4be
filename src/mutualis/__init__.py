"""Mutualis: run a pooled hospital platform (PIMM imaging, FMIH theatres) for a territory."""

__version__ = "0.1.0"
