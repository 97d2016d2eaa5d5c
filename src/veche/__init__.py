"""Veche: self-hosted video conferencing for large organisations."""

__version__ = "0.1.0"
