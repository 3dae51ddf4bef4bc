"""`conformance proxy`: a transparent checking proxy between a real client and a Responses server.

Every request is forwarded unchanged and every answer streamed back byte for byte; alongside,
each answer is judged by the checker (`judge.ExchangeJudge`), printed as one line, optionally
recorded in `conformance record`'s format, and collected into a report written on exit.
"""

from conformance.proxy.app import ProxyApp, ProxyOptions
from conformance.proxy.judge import ExchangeJudge

__all__ = ["ExchangeJudge", "ProxyApp", "ProxyOptions"]
