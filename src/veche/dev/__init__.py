"""Throwaway infrastructure for trying Veche out on one machine (`veche dev cluster`) and for its tests."""
