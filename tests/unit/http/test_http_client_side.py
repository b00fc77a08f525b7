"""An HTTP client told which side it serves raises AuthFailed/NotFound/Rejected that are also the generic
SourceFailure/DestinationFailure, so the CLI answers exit 3 or 4 instead of 9."""

from __future__ import annotations

import pytest
import requests
from hdm import connector_errors, exitcodes
from hdm.errors import classify
from hdm.http import HttpClient, RetryPolicy
from hdm.http import errors as http_errors


class Canned(requests.adapters.BaseAdapter):
    def __init__(self, status: int):
        super().__init__()
        self.status = status

    def send(self, request, **kwargs):
        response = requests.Response()
        response.status_code = self.status
        response._content = b'{"message": "nope"}'
        response.headers["Content-Type"] = "application/json"
        response.url, response.request = request.url, request
        return response

    def close(self):
        pass


def _client(status: int, side):
    session = requests.Session()
    session.mount("https://", Canned(status))
    return HttpClient("https://vendor.example.test", session=session, side=side,
                      retry=RetryPolicy(attempts=1), sleep=lambda s: None)


@pytest.mark.parametrize(("status", "cls"), [(401, http_errors.AuthFailed), (404, http_errors.NotFound),
                                             (422, http_errors.Rejected)])
@pytest.mark.parametrize(("side", "generic", "code"), [
    ("source", connector_errors.SourceFailure, exitcodes.SOURCE),
    ("destination", connector_errors.DestinationFailure, exitcodes.DESTINATION),
])
def test_a_client_of_one_side_raises_that_sides_generic_failure(status, cls, side, generic, code):
    with pytest.raises(cls) as caught:
        _client(status, side).request("GET", "/things")
    assert isinstance(caught.value, generic) and type(caught.value).__name__ == cls.__name__
    assert classify(caught.value)[0] == code


def test_without_a_side_the_errors_stay_kit_errors_and_a_wrong_side_is_refused():
    with pytest.raises(http_errors.NotFound) as caught:
        _client(404, None).request("GET", "/things")
    assert not isinstance(caught.value, connector_errors.ConnectorError)
    with pytest.raises(ValueError):
        HttpClient("https://vendor.example.test", side="sideways")
