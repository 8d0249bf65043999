"""Reproducible studies and benchmarks; nothing in the packages imports them."""
