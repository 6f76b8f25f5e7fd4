"""The API layer's own dependency: the node it serves (mechanism routers take it by a narrower protocol)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from airrc.node import Node

__all__ = ["NodeDep"]


# Dependencies that do no I/O are async: FastAPI runs sync ones in the thread pool, one hop each.
async def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


NodeDep = Annotated[Node, Depends(get_node)]
