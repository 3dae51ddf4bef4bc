"""Rule families, one module each; importing a module registers its rules in the registry.

http.* and client.* only register metadata: their logic lives in the live runner and replay.
"""
