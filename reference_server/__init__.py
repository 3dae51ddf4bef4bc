"""A protocol-perfect OpenAI Responses API server (harmony encoding, pluggable token backends).

It never imports `conformance`: the checker judges this server, so they share no logic.
"""
