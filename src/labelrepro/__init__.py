"""labelrepro: reproducibility artifact for five label-noise papers."""

__version__ = "0.1.0"
