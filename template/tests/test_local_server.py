"""`make dev` routes requests to the real handlers; here over real HTTP on loopback."""

import json
import threading
import urllib.request
from http.server import ThreadingHTTPServer

import pytest

from local import env
from local.routes import ROUTES
from local.server import Router, make_handler

pytestmark = pytest.mark.domains(next(iter(env.DOMAINS)))  # the first domain's: ROUTES[0] is its


@pytest.fixture
def base_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(Router(ROUTES)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()  # within the 50 ms poll interval given above
    server.server_close()


def call(url, method="GET", body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_create_and_read_over_http(base_url):
    collection = ROUTES[0][1]
    status, created = call(base_url + collection, "POST", {"name": "From HTTP"})
    assert status == 201
    status, read = call(f"{base_url}{collection}/{created['id']}")
    assert (status, read) == (200, created)


def test_unknown_route_is_a_json_404(base_url):
    status, body = call(base_url + "/nowhere")
    assert (status, body["error"]) == (404, "not_found")


def test_router_matches_method_and_path_parameters():
    router = Router([("GET", "/things/{id}", "json.dumps")])
    assert router.resolve("GET", "/things/42")[2] == {"id": "42"}
    assert router.resolve("DELETE", "/things/42") is None
    assert router.resolve("GET", "/things/42/more") is None
