"""The benchmark's peer: a Quix Streams application, run in its own virtual environment."""
