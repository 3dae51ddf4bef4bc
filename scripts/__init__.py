"""Generators of the repository's data files (schemas, fixtures, diagrams), run from its root:
`python scripts/<name>.py` or `python -m scripts.<name>`."""
