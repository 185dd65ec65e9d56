"""ASGI entry point for uvicorn: ``uvicorn api.main:app`` (settings from the environment)."""

from api.app import create_app
from routing.operations.runtime import tune_gc

app = create_app()
tune_gc()
