"""evallib: evaluation suite for domestic abuse perpetrator programmes (DAPPs)."""

__version__ = "0.1.0"
