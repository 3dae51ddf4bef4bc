"""Where a response's output comes from (each a `ResponseSource` or what feeds one): token
backends (scripted, torch) under harmony (`backend_source`), or an upstream API through the
converters of `adapters` (`upstream_source`)."""
