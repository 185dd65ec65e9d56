"""Consumer positions: one name per consumer, topic, partition and log generation."""

import pytest

from routing.messaging.ingest import tracking_name
from routing.persistence.positions import position, position_name


def test_first_generation_keeps_the_names_stores_already_hold() -> None:
    assert position_name("ingest", "routing.inbound", 3) == "ingest:routing.inbound:3"
    assert tracking_name("routing.inbound", 3) == "ingest:routing.inbound:3"


def test_later_generations_and_other_consumers_have_names_of_their_own() -> None:
    names = {
        position_name("ingest", "t", 0, 1),
        position_name("ingest", "t", 0, 2),
        position_name("liability", "t", 0, 1),
        position_name("ingest", "t", 1, 1),
    }
    assert len(names) == 4
    assert position_name("ingest", "t", 0, 2) == "ingest:t:0@2"


def test_a_position_is_a_tracking_record_of_the_next_offset() -> None:
    tracking = position("ingest", "t", 1, 2, 42)
    assert (tracking.application_name, tracking.notification_id) == ("ingest:t:1@2", 42)


def test_a_consumer_name_cannot_forge_another_consumers_position() -> None:
    with pytest.raises(ValueError, match="neither"):
        position_name("a:t", "0", 1)
