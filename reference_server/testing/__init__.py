"""Test doubles that ship with the package: scripted fake upstreams for proxy mode
(`fake_upstreams`) and ready-made proxies in front of them (`proxy_targets`)."""
