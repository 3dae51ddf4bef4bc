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
