"""Imported by the fork server of `conformance.corpus.check_records` before it forks workers.

Importing it loads the rules and compiles the contracts once (`conformance.corpus.warm`), so
every worker forked afterwards starts warm. Nothing else imports it.
"""

from conformance.corpus import warm

warm()
