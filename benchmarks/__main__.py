"""Entry point: `python -m benchmarks [--quick] [--profile]`."""

import sys

from benchmarks.checker_bench import main

sys.exit(main())
