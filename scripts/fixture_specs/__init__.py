"""The fixture specs of `fixtures/streams/`: one module per rule family, each spec a function
under `@spec(path, description, errors=…)` that returns the stream with its one defect.

Importing the package registers every spec in `SPECS`; `generate()` returns the files they make
and `main()` writes them (`python -m scripts.fixture_specs [--check]`, or
`python scripts/make_fixtures.py [--check]`).
"""

from scripts.fixture_specs import (  # noqa: F401  (imported to register their specs)
    accumulation,
    call,
    framing,
    item,
    lifecycle,
    output,
    part,
    positive,
    request,
    schema,
    sequence,
    usage,
    web_search,
)
from scripts.fixture_specs.common import SPECS, Spec
from scripts.fixture_specs.corpus import generate, main

__all__ = ["SPECS", "Spec", "generate", "main"]
