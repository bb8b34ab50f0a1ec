"""Tributary: an open market for pooled, outcome-based funding of shared challenges."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tributary")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
