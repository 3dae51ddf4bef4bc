"""Older import path of the test helpers: everything is `conformance.testing`'s."""

from conformance.testing import *  # noqa: F403
from conformance.testing import __all__  # noqa: F401
