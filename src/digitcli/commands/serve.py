"""`digitcli serve`: the drawing page and the HTTP API on uvicorn.

The socket is bound here, before uvicorn starts, so that a port in use is a
one-line error, `--port 0` picks a free port, and the address printed is the
one listening. SIGTERM and Ctrl-C stop the server after at most
`shutdown_seconds` for the requests in flight, stop the workers, and exit 0.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
from pathlib import Path

from rich.console import Console

from ..config import PredictConfig, ServeConfig
from ..errors import DigitcliError, ExitCode

SERVE_EXTRA = {"uvicorn", "starlette", "anyio", "multipart", "python_multipart"}


class ServeError(DigitcliError):
    exit_code = ExitCode.USAGE


def missing_extra() -> ServeError:
    return ServeError('serving needs the [serve] extra: pip install "digitcli[serve]"')


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port and listening, IPv4 or IPv6."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {(exc.strerror or str(exc)).lower()}") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def run(model: Path | None, config: ServeConfig, predict: PredictConfig, stderr: Console) -> int:
    try:
        import uvicorn

        from ..server.app import create_app
    except ImportError as exc:
        if (exc.name or "").split(".")[0] in SERVE_EXTRA:
            raise missing_extra() from None
        raise
    from ..reading.reader import Reader

    reader = Reader(model, min_confidence=predict.min_confidence, workers=1, engine="threads")
    sock = listening_socket(config.host, config.port)
    server = uvicorn.Server(uvicorn.Config(
        create_app(reader, config), log_level="warning", access_log=False, lifespan="on",
        limit_concurrency=config.max_connections, timeout_graceful_shutdown=config.shutdown_seconds))
    stderr.print(f"digitcli serve: {url_of(sock)}  (model {reader.model_path.name}, {config.workers} worker"
                 f"{'s' if config.workers > 1 else ''}, bodies up to {config.max_bytes:,} bytes; Ctrl-C to stop)", highlight=False)
    if not is_loopback(config.host):
        stderr.print(f"[yellow]warning:[/yellow] listening on {config.host}: other machines can reach it, "
                     "and there is no authentication", highlight=False)
    previous = {sig: signal.signal(sig, _stopped) for sig in STOP_SIGNALS}
    try:
        server.run(sockets=[sock])
    except Stopped:
        pass   # uvicorn stopped gracefully, then passed the signal on
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
    stderr.print("digitcli serve: stopped", highlight=False)
    return ExitCode.OK


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(Exception):
    """SIGTERM or Ctrl-C, after uvicorn has shut down: a clean stop, exit 0."""


def _stopped(signum, frame) -> None:
    raise Stopped
