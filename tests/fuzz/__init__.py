"""Hostile model files: a fixed corpus the test suite runs (make_hostile_files.py) and a mutation
fuzzer run by hand (fuzz_models.py, not collected by pytest: its name does not start with test_)."""
