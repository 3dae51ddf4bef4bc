"""Imported by the fork server of `conformance.corpus.check_records` before it forks workers.

Importing it loads the rules and compiles the contracts once (`conformance.corpus.warm`), so
every worker forked afterwards starts warm. Nothing else imports it.
"""

import contextlib

from conformance.corpus import warm

# Should warming fail, the fork server must still start: each worker then loads lazily and
# `check_record` turns the failure into one error verdict per record, as without a preload.
with contextlib.suppress(Exception):
    warm()
