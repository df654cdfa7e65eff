"""A small router over the standard library's ThreadingHTTPServer: requests, responses, errors.

Paths are patterns with `{name}` segments. A handler gets the request and the path's values and
returns a Response. nbadb's errors become one-line answers (a bad argument or a query parameter the
handler does not read 400, an unknown run 404);
anything else is logged with its traceback and answered 500 without details. The access log names
method, path and status, never a header (the bearer token travels in one).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from dataclasses import dataclass, field
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from nbadb.errors import ConfigError, NbadbError, UnknownRunError

log = logging.getLogger("nbadb.serve.http")
MAX_BODY = 64 * 1024
# No script runs on any page; styles are inline; charts are inline SVG.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    asked: set[str] = field(default_factory=set, compare=False, repr=False)  # the parameters its handler read

    def param(self, name: str) -> str | None:
        """A query parameter; an empty one (a form's blank field) counts as absent."""
        self.asked.add(name)
        value = self.query.get(name)
        return value if value else None

    def refuse_unknown_params(self) -> None:
        """A parameter its handler never read is a mistake (`day=` for `date=`): answered 400, naming what
        the path takes, instead of an answer that silently ignored it."""
        unknown = sorted(set(self.query) - self.asked)
        if unknown:
            takes = ", ".join(sorted(self.asked)) or "no parameters"
            raise ConfigError(f"unknown parameter {', '.join(map(repr, unknown))} for {self.path}; it takes {takes}")


def json_body(payload: Any) -> bytes:
    """How the API writes a payload: JSON, dates, timestamps and decimals as their text."""
    return json.dumps(payload, indent=1, default=str).encode()


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200) -> Response:
        return cls(status, "application/json", json_body(payload))

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status, "text/html; charset=utf-8", text.encode())

    @classmethod
    def prometheus(cls, text: str) -> Response:
        """Prometheus' text exposition format."""
        return cls(200, "text/plain; version=0.0.4; charset=utf-8", text.encode())


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


Handler = Callable[[Request, dict[str, str]], Response]


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self._routes.append((method, re.compile(f"^{regex}$"), handler))

    def dispatch(self, request: Request) -> Response:
        allowed = False
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if match is None:
                continue
            allowed = True
            if method == request.method:
                if method != "GET":  # an action takes its arguments from its path and body: refused before it acts
                    request.refuse_unknown_params()
                response = handler(request, match.groupdict())
                request.refuse_unknown_params()
                return response
        if allowed:
            raise HttpError(HTTPStatus.METHOD_NOT_ALLOWED, f"{request.method} is not allowed on {request.path}")
        raise HttpError(HTTPStatus.NOT_FOUND, f"no page or endpoint at {request.path}")


def _answer(router: Router, request: Request) -> Response:
    try:
        return router.dispatch(request)
    except HttpError as exc:
        status, message = exc.status, str(exc)
    except UnknownRunError as exc:
        status, message = HTTPStatus.NOT_FOUND, str(exc)
    except ConfigError as exc:
        status, message = HTTPStatus.BAD_REQUEST, str(exc)
    except NbadbError as exc:
        status, message = HTTPStatus.CONFLICT, str(exc)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        status, message = HTTPStatus.INTERNAL_SERVER_ERROR, "internal error; the server log has the details"
    return _error_response(request.path, status, message)


def _error_response(path: str, status: HTTPStatus, message: str) -> Response:
    """An error as the API answers one (JSON) or as a page."""
    if path.startswith("/api/"):
        return Response.json({"error": message}, status)
    return Response.html(f"<!doctype html><title>{int(status)}</title><p>{escape(message)}</p>", status)


def handler_class(router: Router) -> type[BaseHTTPRequestHandler]:
    class NbadbHandler(BaseHTTPRequestHandler):
        server_version = "nbadb"
        sys_version = ""

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path.rstrip("/") or "/"
            length = (self.headers.get("Content-Length") or "0").strip()
            if not (length.isascii() and length.isdigit()) or int(length) > MAX_BODY:
                self.close_connection = True  # a body of unknown or refused length is not read
                status = HTTPStatus.BAD_REQUEST if not length.isdigit() else HTTPStatus.REQUEST_ENTITY_TOO_LARGE
                message = f"Content-Length {length!r}: give the body's size in bytes, at most {MAX_BODY}"
                response = _error_response(path, status, message)
            else:
                request = Request(self.command, path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                                  {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(int(length)))
                response = _answer(router, request)
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in {**SECURITY_HEADERS, **response.headers}.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_HEAD = _handle

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            # a request line refused before it was parsed (414, 400) has no command or path yet
            log.info("%s %s %s", getattr(self, "command", "-"), urlsplit(getattr(self, "path", "")).path, code)

        def log_message(self, format: str, *args: Any) -> None:
            log.info(format, *args)

    return NbadbHandler


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away before its answer is logged in one line, not with a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.info("%s closed the connection before the answer", client_address[0])
            return
        log.exception("request from %s failed", client_address[0])


class HttpServer:
    """The server in a thread of its own."""

    def __init__(self, host: str, port: int, router: Router) -> None:
        self._server = _Server((host, port), handler_class(router))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="nbadb-http", daemon=True)
        self._started = False

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> None:
        self._thread.start()
        self._started = True

    def stop(self) -> None:
        if self._started:
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
