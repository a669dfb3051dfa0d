"""The web app (FastAPI): the HTTP API under /v1 and the pages people use."""
