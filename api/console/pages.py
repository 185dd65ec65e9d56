"""Care guarantee, offer duty and necessity, auditor and what-if pages."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
