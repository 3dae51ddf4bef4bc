"""The data folders are found through the package, wherever the process runs from."""

import os

from conformance.resources import fixtures_dir, schemas_dir


def test_data_dirs_found_independent_of_cwd(tmp_path):
    before = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert schemas_dir().is_dir()
        assert fixtures_dir().is_dir()
    finally:
        os.chdir(before)


def test_search_corpus_found_independent_of_cwd(tmp_path):
    # The wheel ships reference_server/search/corpus/*.md as package files; the default index is
    # built from that folder (found through the module, not the working directory).
    from reference_server.search import BUNDLED_CORPUS, load_index

    before = os.getcwd()
    os.chdir(tmp_path)
    try:
        markdown = sorted(p.name for p in BUNDLED_CORPUS.glob("*.md"))
        assert "web-search.md" in markdown
        index = load_index()
        assert len(index) == len(markdown)
    finally:
        os.chdir(before)
