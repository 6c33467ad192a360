"""The HTTP layer: the FastAPI app, its middleware, security, errors, schemas and routes. Nothing below imports it."""
