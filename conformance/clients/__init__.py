"""Real-client probes: run a recorded stream through a real client's code (rule `client.*`)."""
