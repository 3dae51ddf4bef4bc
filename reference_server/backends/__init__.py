"""Token backends: prompt tokens in, one token at a time out (see `base`)."""
