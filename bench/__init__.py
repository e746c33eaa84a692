"""Benchmarks of the streaming path: `python -m bench` (see bench/__main__.py for the options)."""
