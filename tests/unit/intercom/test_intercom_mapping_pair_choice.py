"""The Intercom destination chooses its mapping by the (source, destination) pair: a missing source type is an
error, never a silent fall-back to the osTicket pair."""

import pytest
from hdm.destinations.intercom.config import IntercomDestinationConfig
from hdm.destinations.intercom.destination import IntercomDestination


def _cfg() -> IntercomDestinationConfig:
    ref = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hdm/test/intercom-token"
    return IntercomDestinationConfig.model_validate({"type": "intercom", "access_token": ref})


def test_without_a_source_type_the_destination_is_refused():
    with pytest.raises(ValueError, match="source type"):
        IntercomDestination.from_config(_cfg(), lambda: "token", stage=None)


def test_the_export_source_gets_the_export_pair():
    dest = IntercomDestination.from_config(_cfg(), lambda: "token", stage=None, source_type="export")
    assert (dest.mapping.source, dest.mapping.destination) == ("export", "intercom")
