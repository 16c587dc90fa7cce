"""orgscan: multi-account AWS Organizations compliance scanner."""

__version__ = "0.1.0"
