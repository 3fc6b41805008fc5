"""The package version: one place, imported by internal code (the front door re-exports it)."""

__version__ = "0.1.0"
