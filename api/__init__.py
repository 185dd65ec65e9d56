"""HTTP API of routing (FastAPI): ``create_app`` builds it, ``api.main:app`` serves it."""

from api.app import create_app

__all__ = ["create_app"]
