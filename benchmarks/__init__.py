"""Benchmarks: figures printed, never asserted (speed targets do not belong in tests)."""
