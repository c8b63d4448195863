"""scripts/smoke.py against `make dev`'s HTTP server, and against servers that answer wrongly."""

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scripts import smoke

from local import env
from local.routes import PROTECTED_ROUTES, ROUTES
from local.server import Router, make_handler

# Only the test against the local API needs resources: every domain's table (its list route is checked).
pytestmark = pytest.mark.domains()


@contextlib.contextmanager
def serving(handler_class):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()  # within the 50 ms poll interval given above
        server.server_close()


def answering(status: int, echo: bool = False) -> type[BaseHTTPRequestHandler]:
    """A server that answers every GET with ``status``, echoing the correlation id if asked."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status)
            if echo:
                self.send_header(smoke.CORRELATION_HEADER, self.headers[smoke.CORRELATION_HEADER])
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format, *args):
            pass

    return Handler


def test_checks_every_domains_list_route():
    listed = {path for method, path, _ in ROUTES if method == "GET" and "{" not in path}
    assert {path for path, _ in smoke.CHECKS} == listed
    for path, expected in smoke.CHECKS:
        assert expected == (401 if f"GET {path}" in PROTECTED_ROUTES else 200)


@pytest.mark.domains(*env.DOMAINS)
def test_passes_against_the_local_api(capsys):
    # As API Gateway: protected routes answer 401 without a token, the others reach the handlers.
    with serving(make_handler(Router(ROUTES, PROTECTED_ROUTES))) as base_url:
        assert smoke.main([base_url + "/"]) == 0
    out = capsys.readouterr().out
    assert out.count("ok   GET ") == len(smoke.CHECKS), out
    assert "answers as expected" in out


@pytest.mark.parametrize(
    ("expected", "status", "echo", "problem"),
    [
        (200, 500, True, "answered 500, expected 200"),
        (200, 502, False, "answered 502, expected 200"),
        (200, 404, False, "answered 404, expected 200"),
        (200, 200, False, "answered 200 without echoing x-correlation-id"),
        (401, 200, True, "answered 200, expected 401"),  # a protected route that lost its authorizer
    ],
)
def test_fails_when_a_route_answers_wrongly(capsys, monkeypatch, expected, status, echo, problem):
    monkeypatch.setattr(smoke, "CHECKS", [("/things", expected)])
    with serving(answering(status, echo)) as base_url:
        assert smoke.main([base_url]) == 1
    out = capsys.readouterr().out
    assert f"FAIL GET /things: {problem}" in out and "smoke test failed" in out


def test_fails_when_nothing_answers(capsys):
    with serving(answering(200)) as base_url:
        pass  # stopped: the port no longer answers
    assert smoke.main([base_url]) == 1
    assert "no answer" in capsys.readouterr().out


def test_refuses_what_is_not_a_url():
    with pytest.raises(SystemExit) as exit_info:
        smoke.main(["dev"])
    assert exit_info.value.code == 2
