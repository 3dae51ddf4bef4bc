import sys

from scripts.fixture_specs import main

sys.exit(main())
