"""digitcli: read handwritten digits from image files."""

__version__ = "0.1.0"
