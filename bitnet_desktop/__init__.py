"""BitNet Desktop: offline chat with BitNet b1.58 ternary models on a laptop CPU."""

__version__ = "0.1.0"
