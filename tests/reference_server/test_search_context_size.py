"""`search_context_size` bounds how many results a search lists and how much of a page it shows."""

from reference_server.search import Browser, load_index


def _listed(context_size):
    browser = Browser(load_index(), context_size=context_size)
    result = browser.call("search", {"query": "stream events response", "topn": 20})
    return result.text.count("†")


def test_low_lists_fewer_results_than_high():
    low, high = _listed("low"), _listed("high")
    assert 0 < low < high


def test_view_lines_follow_context_size_and_unknown_size_is_medium():
    index = load_index()
    assert Browser(index, context_size="low").view_lines < Browser(index, context_size="high").view_lines
    assert Browser(index, context_size="bogus").view_lines == Browser(index).view_lines
