"""REST under /media/v1: hash an uploaded image, match one against every known hash, share hashes as a
signal, list matches. Uploads are the raw image bytes (``Content-Type`` is not trusted: the type is sniffed)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from airrc.media.hashing import ImageHash, hash_from_hex
from airrc.media.index import MAX_RADIUS
from airrc.media.service import MediaService
from airrc.principals.web import CurrentPrincipal
from airrc.routing import BoundedJSONRoute, served_host
from airrc.trust.host import TrustHost

__all__ = ["READERS", "MediaHost", "router"]

router = APIRouter(prefix="/media/v1", tags=["media"], route_class=BoundedJSONRoute)
READERS = ("admin", "analyst", "duty_officer", "observer")
WRITERS = ("admin", "analyst")
RadiusQuery = Annotated[int | None, Query(ge=0, le=MAX_RADIUS)]


class MediaHost(TrustHost, Protocol):
    @property
    def media(self) -> MediaService: ...


NodeDep = Annotated[MediaHost, Depends(served_host)]


class SignalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hashes: list[str] = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1, max_length=200)
    partners: list[str] = Field(default_factory=list, max_length=31)
    tlp: Literal["clear", "green", "amber", "amber+strict", "red"] = "amber"
    report: str | None = Field(default=None, max_length=36)
    confidence: float = Field(default=0.9, ge=0, le=1)
    quality: int = Field(default=100, ge=0, le=100)


@router.post("/hash")
async def hash_upload(request: Request, node: NodeDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """The PDQ hash, quality and dihedral hashes of the uploaded image; nothing is stored."""
    principal.require(*READERS)
    data = await request.body()
    hashed = await run_in_threadpool(node.media.hash, data)
    return {
        "hash": hashed.hex,
        "quality": hashed.quality,
        "dihedral": [d.hex() for d in hashed.dihedral],
        "width": hashed.width,
        "height": hashed.height,
        "format": hashed.format,
    }


@router.post("/match")
async def match_upload(
    request: Request, node: NodeDep, principal: CurrentPrincipal, radius: RadiusQuery = None
) -> dict[str, Any]:
    """Known hashes within the radius of the uploaded image (its rotations and mirror images too)."""
    principal.require(*READERS)
    data = await request.body()

    def match() -> dict[str, Any]:
        with node.store.read_session() as session:
            hashed, found = node.media.match_image(session, data, radius=radius)
            names = {c.id: c.name for c in node.trust.peers(session)}
        return {"hash": hashed.hex, "quality": hashed.quality, "matches": [m.to_json(names) for m in found]}

    return await run_in_threadpool(match)


@router.get("/hashes/{hash_hex}/matches")
def match_hash(
    hash_hex: str, node: NodeDep, principal: CurrentPrincipal, radius: RadiusQuery = None
) -> dict[str, Any]:
    principal.require(*READERS)
    value = hash_from_hex(hash_hex)
    with node.store.read_session() as session:
        found = node.media.search(session, [value], radius=radius)
        names = {c.id: c.name for c in node.trust.peers(session)}
    return {"hash": hash_hex, "matches": [m.to_json(names) for m in found]}


@router.post("/signals", status_code=201)
def share(body: SignalRequest, node: NodeDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Share PDQ hashes as a ``media.signal`` with the named partners (none: kept on this node)."""
    principal.require(*WRITERS)
    hashed = [ImageHash(hash_from_hex(h), body.quality, (), 0, 0, "") for h in body.hashes]
    with node.store.session() as session:
        signed, stored = node.media.share(
            session,
            hashed,
            label=body.label,
            partners=body.partners,
            tlp=body.tlp,
            report=body.report,
            confidence=body.confidence,
        )
        return {
            "statement": signed.statement.id,
            "signal": signed.statement.body["signal_id"],
            "matches": [
                {"hash": row.hash.hex(), "matches": [m.to_json() for m in found]} for row, found in stored
            ],
        }


@router.get("/matches")
def matches(
    node: NodeDep, principal: CurrentPrincipal, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    principal.require(*READERS)
    with node.store.read_session() as session:
        return node.media.matches(session, limit=limit)
