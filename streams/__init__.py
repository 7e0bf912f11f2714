"""deposit-tiering: the stream processor (Faust app, codec, CLI) around the pure core."""

__version__ = "0.1.0"
