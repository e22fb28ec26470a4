"""This release's version, written once: the wheel's metadata (``pyproject.toml``) and every checkpoint read it here."""

__version__ = "0.2.0"
