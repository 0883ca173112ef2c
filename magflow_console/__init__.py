"""magflow-console: terminal operations console for the MagFlow ERP stack."""

__version__ = "0.1.0"
