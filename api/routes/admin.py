"""Administration of reference data (price lists, fees, criteria sets, referral rules).

Reference data ships as validated files with the service; an administrator asks the running
service to validate the files on disk and, if they pass, to use them, without a restart.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.auth import require
from api.errors import ErrorBody
from routing.access import Role
from routing.reference import CatalogueDataError, load_reference_data
from routing.reference.catalogue import reload_catalogue

router = APIRouter(
    prefix="/admin",
    tags=["administration"],
    dependencies=[Depends(require(Role.administrator))],
)


class ReferenceDataOut(BaseModel):
    version: str
    files: list[str]


@router.get("/reference-data", response_model=ReferenceDataOut)
def reference_data() -> ReferenceDataOut:
    """The reference data in force: its version (a digest of the files) and files."""
    catalogue = load_reference_data()
    return ReferenceDataOut(version=catalogue.version, files=sorted(catalogue.files))


@router.post(
    "/reference-data/reload",
    response_model=ReferenceDataOut,
    responses={422: {"model": ErrorBody, "description": "A file failed validation."}},
)
async def reload_reference_data() -> ReferenceDataOut | JSONResponse:
    """Validates the reference files on disk; if every entry passes, they are in force from
    now on. A bad file is a 422 naming file, entry and field, and the old data stays."""
    try:
        catalogue = await run_in_threadpool(reload_catalogue)
    except CatalogueDataError as exc:
        body = ErrorBody(code="reference_data_invalid", message=str(exc))
        return JSONResponse(body.model_dump(exclude_none=True), status_code=422)
    return ReferenceDataOut(version=catalogue.version, files=sorted(catalogue.files))
