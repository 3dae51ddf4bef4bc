"""Benchmarks of the conformance checker (`python -m benchmarks`, `nox -s bench`).

They print numbers and assert nothing about time; docs/performance.md records the figures.
"""
