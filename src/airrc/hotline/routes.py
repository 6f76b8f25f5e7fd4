"""REST under /hotline/v1: channels, messages, acknowledgements, inbox, drills and transcripts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from airrc.hotline.formats import Language
from airrc.hotline.transcript import TranscriptHost, export_transcript
from airrc.principals.web import SigningHostDep, WatchOfficerDep, unlock_for_signing
from airrc.routing import BoundedJSONRoute, served_host

__all__ = ["router"]

router = APIRouter(prefix="/hotline/v1", tags=["hotline"], route_class=BoundedJSONRoute)
# Who may read hotline statements (the routes take WatchOfficerDep: the same roles).
READERS = ("admin", "duty_officer")
LangQuery = Annotated[Literal["en", "zh", "both"], Query()]
# What these routes use of the node: its store and hotline service, and what a transcript export reads.
NodeDep = Annotated[TranscriptHost, Depends(served_host)]


class ChannelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    participants: list[str] = Field(min_length=1, max_length=31)
    report: str | None = Field(default=None, max_length=36, description="exchange report statement id")


class MessageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: str = Field(max_length=64)
    precedence: str | None = Field(default=None, max_length=16)
    fields: dict[str, Any] = Field(max_length=64)
    in_reply_to: str | None = Field(default=None, max_length=36)


class AckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(max_length=1024, description="the officer's password: it unlocks their key now")


def _languages(lang: str) -> tuple[Language, ...]:
    return ("en", "zh") if lang == "both" else ("en",) if lang == "en" else ("zh",)


def _channel_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.channel_id,
        "kind": row.kind,
        "state": row.state,
        "opened_by": row.opened_by,
        "participants": row.members,
        "report": row.report,
        "open_statement": row.open_statement,
        "close_statement": row.close_statement,
        "opened_at": row.opened_at.isoformat(),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
    }


@router.get("/formats")
def formats(node: NodeDep, _: WatchOfficerDep) -> dict[str, Any]:
    """The pre-agreed format catalog and the digest both sides compare."""
    catalog = node.hotline.catalog
    return {"digest": catalog.digest, **catalog.model_dump(mode="json")}


@router.post("/channels", status_code=201)
def open_channel(body: ChannelRequest, node: NodeDep, _: WatchOfficerDep) -> dict[str, Any]:
    with node.store.session() as session:
        row = node.hotline.open_channel(session, body.participants, report=body.report)
        return _channel_json(row)


@router.get("/channels")
def list_channels(
    node: NodeDep, _: WatchOfficerDep, drills: Annotated[bool, Query()] = False
) -> list[dict[str, Any]]:
    with node.store.read_session() as session:
        return [_channel_json(row) for row in node.hotline.channels(session, include_drills=drills)]


@router.get("/channels/{channel_id}")
def show_channel(
    channel_id: str, node: NodeDep, _: WatchOfficerDep, lang: LangQuery = "both"
) -> dict[str, Any]:
    catalog = node.hotline.catalog
    with node.store.read_session() as session:
        row = node.hotline.channel(session, channel_id)
        messages = node.hotline.messages(session, channel_id)
        return {
            **_channel_json(row),
            "messages": [m.to_json(catalog, _languages(lang)) for m in messages],
        }


@router.post("/channels/{channel_id}/close")
def close_channel(channel_id: str, node: NodeDep, _: WatchOfficerDep) -> dict[str, Any]:
    with node.store.session() as session:
        return _channel_json(node.hotline.close_channel(session, channel_id))


@router.post("/channels/{channel_id}/messages", status_code=201)
def send(channel_id: str, body: MessageRequest, node: NodeDep, _: WatchOfficerDep) -> dict[str, Any]:
    with node.store.session() as session:
        row = node.hotline.send(
            session,
            channel_id,
            format_id=body.format,
            fields=body.fields,
            precedence=body.precedence,
            in_reply_to=body.in_reply_to,
        )
        return node.hotline.view(session, row).to_json(node.hotline.catalog)


@router.get("/messages/{message_id}")
def show_message(
    message_id: str, node: NodeDep, _: WatchOfficerDep, lang: LangQuery = "both"
) -> dict[str, Any]:
    with node.store.read_session() as session:
        return node.hotline.message(session, message_id).to_json(node.hotline.catalog, _languages(lang))


@router.post("/messages/{message_id}/ack")
def acknowledge(
    message_id: str,
    *,
    request: Request,
    node: NodeDep,
    signing: SigningHostDep,
    principal: WatchOfficerDep,
    body: AckRequest | None = None,
) -> dict[str, Any]:
    """A duty officer acknowledges, signing with their personal key, unlocked by the password sent now."""
    officer = unlock_for_signing(request, signing, principal, body.password if body else None)
    with node.store.session() as session:
        node.hotline.acknowledge(session, officer, message_id)
    with node.store.read_session() as session:
        return node.hotline.message(session, message_id).to_json(node.hotline.catalog)


@router.get("/inbox")
def inbox(
    node: NodeDep,
    _: WatchOfficerDep,
    all: Annotated[bool, Query(alias="all")] = False,
    lang: LangQuery = "both",
) -> list[dict[str, Any]]:
    with node.store.read_session() as session:
        views = node.hotline.inbox(session, include_acknowledged=all)
        return [v.to_json(node.hotline.catalog, _languages(lang)) for v in views]


@router.get("/status")
def status(node: NodeDep, _: WatchOfficerDep) -> dict[str, Any]:
    """Drill results per peer and awaited acknowledgements."""
    with node.store.read_session() as session:
        return node.hotline.status(session)


@router.get("/channels/{channel_id}/transcript")
def transcript(channel_id: str, node: NodeDep, _: WatchOfficerDep) -> dict[str, Any]:
    """The channel with every statement's inclusion proof and the checkpoints they verify against."""
    return export_transcript(node, channel_id)
