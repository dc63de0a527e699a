"""The HTTP API and the drawing page, as one Starlette app.

    GET  /             the page: draw a digit or a number, or drop a photo
    POST /api/read     image bytes, or a multipart form with a `file` field:
                       predict's JSON record (the same contract), 200 when
                       read (ok, low confidence, no digit), 422 when the
                       body is no image, 413 when it is over the size limit
    GET  /api/health   {"status": "ok"}, for load balancers
    GET  /api/model    the model card's summary

/api/read takes predict's options as query parameters: `digits` (read
exactly N), `top_k`, `boxes` (each digit with its box and confidence) and
`crops` (each digit's 28x28, as the model saw it, as a data: URL of a PNG).

The server never opens a file a client names: the Reader only ever gets the
request's bytes. Readings run in a pool of `workers` processes (reading/pool.py);
more requests wait their turn.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from typing import TextIO

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import SETTINGS, ServeConfig
from ..fileio import encode_png
from ..reading.pipeline import to_uint8
from ..reading.pool import InProcessPool, ReaderPool, reading_pool
from ..reading.reader import Reader
from ..reading.result import Result, Status
from ..reading.writers import Extras

PAGE_FILES = {"/": ("index.html", "text/html; charset=utf-8"),
              "/page.js": ("page.js", "text/javascript; charset=utf-8"),
              "/page.css": ("page.css", "text/css; charset=utf-8")}
# The page loads nothing from elsewhere, and the browser is told so.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
                               "script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
MAX_TOP_K, MAX_DIGITS = 10, 32


class BadRequest(Exception):
    """The request cannot be read: answered with an error record."""

    def __init__(self, message: str, status_code: int = 422):
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class ReadOptions:
    """predict's options, from the query string."""

    digits: int | None = None
    top_k: int = 1
    boxes: bool = False
    crops: bool = False

    @classmethod
    def from_query(cls, query) -> ReadOptions:
        def integer(name: str, low: int, high: int) -> int | None:
            text = query.get(name)
            if text in (None, ""):
                return None
            if not text.isdigit() or not low <= int(text) <= high:
                raise BadRequest(f"{name}={text!r}: expected a whole number from {low} to {high}", 400)
            return int(text)

        def flag(name: str) -> bool:
            return query.get(name, "0").lower() in ("1", "true", "yes", "on", "")

        return cls(integer("digits", 1, MAX_DIGITS), integer("top_k", 1, MAX_TOP_K) or 1,
                   flag("boxes"), flag("crops"))


def crop_urls(result: Result) -> list[str]:
    """Each digit's 28x28, as the model saw it, as a data: URL (PNG)."""
    return ["data:image/png;base64," + base64.b64encode(encode_png(to_uint8(read.image))).decode("ascii")
            for read in result.digits if read.image is not None]


async def limited_body(request: Request, max_bytes: int) -> bytes:
    """The body, refused (413) as soon as it is known to be over the limit:
    from Content-Length before reading, or while it streams in."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BadRequest(f"the body is {int(declared):,} bytes, over the limit of {max_bytes:,}", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BadRequest(f"the body is over the limit of {max_bytes:,} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


async def image_in(request: Request, max_bytes: int) -> tuple[bytes, str | None]:
    """The image's bytes and name: the body itself, or a form's `file` field."""
    body = await limited_body(request, max_bytes)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return body, None

    async def stream() -> AsyncIterator[bytes]:
        yield body

    try:
        form = await MultiPartParser(request.headers, stream(), max_files=1, max_fields=20).parse()
    except MultiPartException as exc:
        raise BadRequest(f"cannot read the form: {exc.message}") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise BadRequest("the form has no 'file' field holding an image")
    try:
        return await upload.read(), upload.filename
    finally:
        await upload.close()


def record_response(request: Request, result: Result, extras: Extras, status_code: int) -> JSONResponse:
    """The record, and the result kept in the request's state for the log line."""
    request.state.reading = result
    return JSONResponse(extras.record(result), status_code=status_code)


def card_summary(reader: Reader) -> dict:
    """What a client may want to know about the model, without server paths."""
    card = reader.classifier.card or {}
    training = card.get("training") or {}
    return {
        "file": reader.model_path.name,
        "name": card.get("name"),
        "created": card.get("created"),
        "digitcli_version": card.get("digitcli_version"),
        "parameters": card.get("parameters"),
        "input": card.get("input"),
        "metrics": card.get("metrics"),
        "calibration": card.get("calibration"),
        "rejection": card.get("rejection"),
        "training": {key: training.get(key) for key in ("epochs_run", "best_epoch", "weights", "seconds")},
        "min_confidence": reader.config.min_confidence,
    }


def page_files() -> dict[str, tuple[bytes, str]]:
    folder = resources.files(__package__) / "page"
    return {route: ((folder / name).read_bytes(), media) for route, (name, media) in PAGE_FILES.items()}


def create_app(reader: Reader, config: ServeConfig = SETTINGS.serve, log: TextIO | None = sys.stderr,
               pool: ReaderPool | InProcessPool | None = None) -> ASGIApp:
    """The ASGI app: the page and the API over one loaded Reader, read in
    `config.workers` worker processes (started now, stopped with the app)."""
    pool = pool or reading_pool(reader, config.workers)
    pages = page_files()

    async def page(request: Request) -> Response:
        content, media_type = pages[request.url.path]
        return Response(content, media_type=media_type, headers={"Cache-Control": "no-cache", **SECURITY_HEADERS})

    async def read(request: Request) -> JSONResponse:
        name = None
        extras = Extras()
        try:
            options = ReadOptions.from_query(request.query_params)
            extras = Extras(options.top_k, options.boxes, options.crops)
            data, name = await image_in(request, config.max_bytes)
        except BadRequest as exc:
            return record_response(request, Result(name, status=Status.ERROR, error=str(exc)), extras,
                                   exc.status_code)
        result = await pool.read(data, name, digits=options.digits, top_k=options.top_k)
        if options.crops and not result.failed:
            result.crops = crop_urls(result)
        return record_response(request, result, extras, 422 if result.failed else 200)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def model(request: Request) -> JSONResponse:
        return JSONResponse(card_summary(reader))

    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    routes = [*(Route(path, page, methods=["GET"]) for path in PAGE_FILES),
              Route("/api/read", read, methods=["POST"]),
              Route("/api/health", health, methods=["GET"]),
              Route("/api/model", model, methods=["GET"])]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        pool.close()

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error}, lifespan=lifespan)
    return RequestLog(app, log) if log is not None else app


class RequestLog:
    """One line per request on stderr: client, method, path, status, bytes
    sent and milliseconds, and for a reading what was read."""

    def __init__(self, app: ASGIApp, out: TextIO):
        self.app, self.out = app, out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, sent = 500, 0

        async def logging_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, logging_send)
        finally:
            client = scope.get("client") or ("-", 0)
            milliseconds = (time.perf_counter() - started) * 1000
            reading = (scope.get("state") or {}).get("reading")
            self.out.write(f'{time.strftime("%Y-%m-%dT%H:%M:%S")} {client[0]} "{scope["method"]} {scope["path"]}" '
                           f"{status} {sent}B {milliseconds:.1f}ms{summary_of(reading) if reading else ''}\n")
            self.out.flush()


def summary_of(result: Result) -> str:
    """' number=17 status=ok' for the log line."""
    text = f" number={result.number} status={result.status.value.replace(' ', '_')}"
    return text + (f" error={json.dumps(result.error)}" if result.error else "")
