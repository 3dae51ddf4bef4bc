"""Where the data folders (`schemas/`, `fixtures/`) are at run time.

In a wheel they are shipped as `conformance/_data/...`; in a source checkout (editable install or
tests run from the repo) they are the top-level folders next to the package. Never the cwd.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    shipped = _PACKAGE_DIR / "_data" / name
    if shipped.is_dir():
        return shipped
    checkout = _PACKAGE_DIR.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"the {name}/ data folder is missing: looked in {shipped} and {checkout}; "
        "reinstall the package (pip install responses-conformance)"
    )


def schemas_dir() -> Path:
    return _data_dir("schemas")


def fixtures_dir() -> Path:
    return _data_dir("fixtures")
