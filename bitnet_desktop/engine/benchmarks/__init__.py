"""Benchmarks shared by the CLI and the benchmark tab: results are data, formatting is elsewhere."""
