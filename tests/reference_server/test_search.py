"""The offline search backend: corpus loading, FTS5/BM25 search, the browser's pages and cursors."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from reference_server.search import (
    BUNDLED_CORPUS,
    Browser,
    BrowserError,
    SearchIndex,
    domain_allowed,
    load_folder,
    load_index,
    parse_document,
)


def _corpus(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    (tmp_path / "kiwi.md").write_text(
        "---\nurl: https://fruit.example/kiwi\n---\n# Kiwi fruit\n\nThe kiwi is a fuzzy brown berry.\n"
        "It grows on vines.\n" + "filler line\n" * 60 + "Kiwi seeds are tiny and black.\n",
        encoding="utf-8")
    (tmp_path / "sub" / "apple.html").write_text(
        "<html><head><title>Apples</title><link rel='canonical' href='https://docs.fruit.example/apple'>"
        "<script>var kiwi = 1;</script></head><body><h1>Apples</h1><p>An apple a day.</p>"
        "<p>Apples are not kiwi, but mention kiwi once.</p></body></html>", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("Banana notes\nBananas are yellow.\n", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    return tmp_path


def test_documents_take_url_and_title_from_front_matter_html_or_the_file(tmp_path: Path) -> None:
    docs = {d.title: d for d in load_folder(_corpus(tmp_path))}
    assert set(docs) == {"Kiwi fruit", "Apples", "Banana notes"}  # the .png is not a document
    assert docs["Kiwi fruit"].url == "https://fruit.example/kiwi"
    assert docs["Apples"].url == "https://docs.fruit.example/apple"
    assert "var kiwi" not in docs["Apples"].text  # script text is not page text
    assert [x for x in docs["Apples"].lines if x][:2] == ["Apples", "An apple a day."]
    assert docs["Banana notes"].url == (tmp_path / "notes.txt").resolve().as_uri()


def test_unterminated_front_matter_is_text() -> None:
    doc = parse_document("---\nurl: x\nno end", "markdown", "file:///a.md", "a")
    assert doc.url == "file:///a.md" and "no end" in doc.text


def test_bm25_ranks_the_most_relevant_document_first_and_snippets_show_the_match(tmp_path: Path) -> None:
    for i, body in enumerate(["Coffee is roasted.", "Water boils at 100 degrees.", "Bread needs yeast.",
                              "Rice grows in paddies.", "Milk comes from cows."]):
        (tmp_path / f"other{i}.md").write_text(f"# Other {i}\n\n{body}\n", encoding="utf-8")
    (tmp_path / "tea.md").write_text("# Green tea\n\nGreen tea is steeped briefly.\n", encoding="utf-8")
    (tmp_path / "drinks.md").write_text("# Drinks\n\n" + "Many drinks exist.\n" * 30 + "Also tea.\n",
                                        encoding="utf-8")
    index = SearchIndex(load_folder(tmp_path))
    hits = index.search("tea")
    assert [h.title for h in hits] == ["Green tea", "Drinks"]
    assert hits[0].score > hits[1].score
    assert "tea" in hits[0].snippet.lower()
    assert index.search("yeast")[0].title == "Other 2"
    assert index.search("tea", topn=1) == hits[:1]
    assert index.search("nothing-matches-this") == []


@pytest.mark.parametrize("query", ['"unbalanced', "kiwi AND OR", "NEAR(", "*", "title:kiwi)", ""])
def test_free_text_never_forms_fts5_syntax(tmp_path: Path, query: str) -> None:
    index = SearchIndex(load_folder(_corpus(tmp_path)))
    hits = index.search(query)  # never raises sqlite3.OperationalError
    assert all(h.url for h in hits)


def test_domain_filters_match_hosts_and_subdomains(tmp_path: Path) -> None:
    index = SearchIndex(load_folder(_corpus(tmp_path)))
    assert [h.url for h in index.search("kiwi", allowed_domains=["docs.fruit.example"])] == [
        "https://docs.fruit.example/apple"]
    assert len(index.search("kiwi", allowed_domains=["fruit.example"])) == 2
    assert index.search("kiwi", allowed_domains=["https://other.example/"]) == []
    assert not domain_allowed("https://evilfruit.example/", ["fruit.example"])
    assert domain_allowed("file:///x", None)


def test_search_open_find_and_citations(tmp_path: Path) -> None:
    browser = Browser(SearchIndex(load_folder(_corpus(tmp_path))), view_lines=10)
    found = browser.search("kiwi berry")
    assert found.ok and found.is_search and browser.searches == 1
    assert found.text.startswith("[0] Search results")
    assert "L0: 【0†Kiwi fruit†fruit.example】" in found.text
    assert found.action["type"] == "search" and found.action["query"] == "kiwi berry"
    assert found.action["sources"][0] == {"type": "url", "url": "https://fruit.example/kiwi"}

    opened = browser.open(0)
    assert opened.action == {"type": "open_page", "url": "https://fruit.example/kiwi"}
    assert opened.text.startswith("[1] Kiwi fruit (https://fruit.example/kiwi)")
    assert "L2: The kiwi is a fuzzy brown berry." in opened.text
    assert "L10:" not in opened.text  # the view holds 10 lines: L0–L9

    hit = browser.find("seeds")
    assert hit.action == {"type": "find_in_page", "url": "https://fruit.example/kiwi", "pattern": "seeds"}
    assert "【0†match at L64】" in hit.text
    at_match = browser.open(0)  # a find result opens the page at the match
    assert "L64: Kiwi seeds are tiny and black." in at_match.text

    scrolled = browser.open(cursor=1, loc=60, num_lines=3)
    assert "L60:" in scrolled.text and "L63:" not in scrolled.text and "L59:" not in scrolled.text

    kiwi = browser.resolve_citation(1, 2, 3)
    assert kiwi is not None and kiwi.url == "https://fruit.example/kiwi" and kiwi.title == "Kiwi fruit"
    result_link = browser.resolve_citation(0, 0, 1)  # cited search results: the result's link
    assert result_link is not None and result_link.url == "https://fruit.example/kiwi"
    assert browser.resolve_citation(1, 2, 500) is None  # past the page's end
    assert browser.resolve_citation(99, 0, 0) is None  # no such cursor
    assert browser.resolve_citation(1, 5, 4) is None  # reversed range


def test_citations_point_only_at_lines_the_model_was_shown(tmp_path: Path) -> None:
    browser = Browser(SearchIndex(load_folder(_corpus(tmp_path))), view_lines=10)
    browser.search("kiwi berry")
    browser.open(0)  # [1]: L0–L9 shown
    browser.open(cursor=1, loc=60, num_lines=3)  # [2]: the same page, L60–L62 shown
    assert browser.views == {0: (0, len(browser.pages[0].lines)), 1: (0, 10), 2: (60, 63)}
    assert browser.resolve_citation(1, 9) is not None
    assert browser.resolve_citation(1, 8, 10) is None  # L10 exists but was not shown
    assert browser.resolve_citation(2, 60, 62) is not None
    assert browser.resolve_citation(2, 59, 60) is None and browser.resolve_citation(2, 63) is None


def test_bad_calls_become_failed_results_the_model_can_read(tmp_path: Path) -> None:
    browser = Browser(SearchIndex(load_folder(_corpus(tmp_path))))
    assert browser.call("open", {"id": 0}).text == "Error: no page is open yet; search first"
    browser.call("search", {"query": "kiwi"})
    for name, args, words in [
        ("open", {"id": 7}, "has no link 7"),
        ("open", {"cursor": 42, "id": 0}, "no page with cursor 42"),
        ("open", {"id": "https://nowhere.example/"}, "not in the search corpus"),
        ("open", {"id": 0, "loc": 10_000}, "past the end"),
        ("open", {"id": 0, "loc": "x"}, "`loc` must be an integer"),
        ("find", {"pattern": ""}, "non-empty"),
        ("search", {"query": 3}, "non-empty string"),
        ("search", [], "JSON object"),
        ("fly", {}, "unknown browser function"),
    ]:
        result = browser.call(name, args)
        assert not result.ok and words in result.text, (name, args, result.text)
    assert browser.searches == 1  # failed calls are not searches
    assert browser.calls == 11  # but they are calls (the per-response cap counts them)


def test_domain_filter_applies_to_opening_urls(tmp_path: Path) -> None:
    browser = Browser(SearchIndex(load_folder(_corpus(tmp_path))), allowed_domains=["docs.fruit.example"])
    assert not browser.call("open", {"id": "https://fruit.example/kiwi"}).ok
    assert browser.call("open", {"id": "https://docs.fruit.example/apple"}).ok


def test_load_index_builds_once_per_folder_and_refuses_a_non_folder(tmp_path: Path) -> None:
    folder = _corpus(tmp_path)
    assert load_index(folder) is load_index(str(folder))
    assert len(load_index(folder)) == 3
    with pytest.raises(ValueError, match="is not a folder"):
        load_index(tmp_path / "missing")


def test_bundled_corpus_answers_protocol_questions() -> None:
    index = load_index()
    assert len(index) == len([p for p in BUNDLED_CORPUS.iterdir() if p.suffix == ".md"]) >= 5
    hit = index.search("url_citation annotation_index")[0]
    assert hit.url.startswith("https://") and "web_search" in hit.title
    assert all(u.startswith("https://") for u in index.urls)  # every bundled page has a real URL


def test_browser_error_is_a_value_error() -> None:
    assert issubclass(BrowserError, ValueError)


# -- citation markers ---------------------------------------------------------------------------

def _rewriter_and_browser(tmp_path: Path):
    from reference_server.search.citations import CitationRewriter

    browser = Browser(SearchIndex(load_folder(_corpus(tmp_path))))
    browser.search("kiwi berry")
    browser.open(0)
    return CitationRewriter(browser.resolve_citation), browser


def _run(rewriter, deltas: list[str]) -> tuple[list[str], list[tuple[int, dict]]]:
    """Emitted deltas, and each annotation with how many characters were emitted when it came."""
    out: list[str] = []
    notes: list[tuple[int, dict]] = []
    for delta in deltas:
        text, new = rewriter.feed(delta)
        out.append(text)
        notes.extend((len("".join(out)), a) for a in new)
    out.append(rewriter.finish()[0])
    return out, notes


SOURCE = "Kiwis are fuzzy berries【1†L2-L3】 and grow on vines【0†L0】."


@pytest.mark.parametrize("cuts", [[], [23], [24], [26], [27], [30], [31], [32], list(range(1, len(SOURCE)))])
def test_markers_become_url_citations_at_any_delta_boundary(tmp_path: Path, cuts: list[int]) -> None:
    rewriter, _ = _rewriter_and_browser(tmp_path)
    bounds = [0, *cuts, len(SOURCE)]
    out, notes = _run(rewriter, [SOURCE[a:b] for a, b in itertools.pairwise(bounds)])
    text = "".join(out)
    assert text == ("Kiwis are fuzzy berries ([fruit.example](https://fruit.example/kiwi)) and grow on "
                    "vines ([fruit.example](https://fruit.example/kiwi)).")
    assert all("【" not in piece and "†" not in piece for piece in out)  # no partial marker leaks
    assert [a["start_index"] for _, a in notes] == [24, 88]
    for emitted, a in notes:
        assert text[a["start_index"]:a["end_index"]] == "([fruit.example](https://fruit.example/kiwi))"
        assert a["end_index"] <= emitted  # announced only once its text has gone out
        assert a["url"] == "https://fruit.example/kiwi" and a["title"] == "Kiwi fruit"
    assert rewriter.annotations == [a for _, a in notes]


def test_unresolvable_markers_are_dropped_and_lookalikes_stay_text(tmp_path: Path) -> None:
    rewriter, _ = _rewriter_and_browser(tmp_path)
    out, notes = _run(rewriter, ["See【9†L0】 here, 【bracket】 and 【1†L2-L99】", " end【1†"])
    assert "".join(out) == "See here, 【bracket】 and  end【1†"
    assert notes == []
