"""Public benchmarks: what a verified unit of outcome cost, per SDG target and unit."""
