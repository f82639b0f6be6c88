"""The DynamoDB attribute codec: round trips, NULL inside maps, and refusals."""

from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer
from kemala.store.dynamo import deserialize, from_attribute, serialize, to_attribute


def test_round_trip_of_the_shapes_we_store() -> None:
    item = {
        "s": "jalan rusak 🙏🏽 ꦗꦮ",  # emoji and Javanese script
        "i": 7,
        "f": 0.8731,
        "b": False,
        "l": ["a", 1, None],
        "m": {"agency_id": None, "nested": {"x": 1.5}},
        "gone": None,
    }
    encoded = serialize(item)
    assert "gone" not in encoded  # top-level None: attribute absent
    assert encoded["m"]["M"]["agency_id"] == {"NULL": True}  # kept inside maps (hash chain)
    assert deserialize(encoded) == {k: v for k, v in item.items() if v is not None}


def test_encoding_matches_what_boto3_decodes() -> None:
    value = {"n": 12345678901234567890, "f": 0.1, "ss": {"b", "a"}, "l": [True, "x"]}
    attr = to_attribute(value)
    decoded = TypeDeserializer().deserialize(attr)
    assert decoded["n"] == Decimal("12345678901234567890")
    assert decoded["f"] == Decimal("0.1")
    assert decoded["ss"] == {"a", "b"}
    assert from_attribute(attr)["n"] == 12345678901234567890  # big ints stay exact


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object()])
def test_refuses_what_dynamodb_cannot_store(bad: object) -> None:
    with pytest.raises(TypeError):
        to_attribute(bad)


def test_unknown_attribute_type_is_named() -> None:
    with pytest.raises(TypeError, match="'Q'"):
        from_attribute({"Q": "?"})
