"""The HTTP edge: the FastAPI app and its routes, middleware (auth, limits), error handlers,
WebSocket mode, the OpenAPI document, and proxy mode's apps."""
