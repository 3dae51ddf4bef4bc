"""Repo-root conftest: makes the source checkout importable when pytest runs from the repo."""
