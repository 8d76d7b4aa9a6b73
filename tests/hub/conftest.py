"""The hub-compatible test server (tests/hub/hub_server.py) as a fixture: started on 127.0.0.1 with ephemeral
ports, closed in the finalizer even when the test fails."""
import pytest

from tests.hub.hub_server import HubServer


@pytest.fixture
def hub_server():
    server = HubServer()
    try:
        yield server
    finally:
        server.close()
