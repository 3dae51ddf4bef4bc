"""One catalogue of named tolerances (conformance/tolerances.py) feeds both the contracts'
tagging and the profiles' severities."""

from __future__ import annotations

from conformance import contracts, profiles, tolerances
from conformance.profiles import PROFILE_NAMES, get_profile


def test_one_tolerance_type() -> None:
    assert profiles.Tolerance is contracts.Tolerance is tolerances.Tolerance


def test_every_profile_tolerance_is_catalogued() -> None:
    catalogue = tolerances.TOLERANCES
    assert set(profiles.tolerance_names()) == set(catalogue)
    assert set(profiles.OPT_IN_TOLERANCES) == {n for n, t in catalogue.items() if t.opt_in} == {"sequence-number-absent"}
    for name in PROFILE_NAMES:
        assert set(get_profile(name).tolerances) <= set(catalogue)
    for t in catalogue.values():
        assert t.description and t.evidence and t.severity in (None, "warning", "error"), t.name


def test_schema_level_ones_are_the_contracts_ones() -> None:
    schema = {n for n, t in tolerances.TOLERANCES.items() if t.schema}
    assert schema == set(contracts.TOLERANCES)
    # checker-level tolerances have no selectors, so they never tag a schema issue
    checker_level = tolerances.TOLERANCES["reissued-opaque-fields"]
    assert not checker_level.schema and not checker_level.matches("response", "/output/0/encrypted_content", "const")


def test_default_severities_and_the_open_responses_override() -> None:
    openai = get_profile("openai")
    assert openai.tolerance_severity("reissued-opaque-fields") is None
    assert openai.tolerance_severity("error-event-nested") == "warning"
    assert openai.tolerance_severity("sequence-number-absent") == "error"  # not opted in: no cap
    assert openai.with_options(tolerate=["sequence-number-absent"]).tolerance_severity("sequence-number-absent") == "warning"
    assert get_profile("openresponses").tolerance_severity("error-event-nested") is None
