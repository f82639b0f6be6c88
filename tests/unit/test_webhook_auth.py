"""The signature and CRC vectors published with X's autohook and in the webhooks README."""

from kemala.webhook_auth import crc_response_token, signature_for, signature_is_valid


def test_autohook_json_vector() -> None:
    body = b'{"test_number":1,"test_string":"two"}'
    assert signature_for("test", body) == "sha256=YWHphPn/JFq43jkF0y4/w8R/SelmLjvpunhVFY8JhlI="


def test_autohook_form_vector() -> None:
    assert (
        signature_for("test", b"test=1&other_test=2") == "sha256=25Cu3iwbbiqBTwQRzcKJZwisjf736V2Q8UaTlkfLSoc="
    )


def test_crc_vector() -> None:
    assert crc_response_token("test", "foo") == "sha256=HlU5y5rWhNi1SHftUCyOxuT6JRuDqeVBKWp1yvldR04="


def test_valid_signature_accepted_and_forgeries_refused() -> None:
    body = b'{"test_number":1,"test_string":"two"}'
    good = "sha256=YWHphPn/JFq43jkF0y4/w8R/SelmLjvpunhVFY8JhlI="
    assert signature_is_valid("test", body, good)
    assert not signature_is_valid("test", body + b" ", good)  # body changed by one byte
    assert not signature_is_valid("other", body, good)  # signed with another secret
    assert not signature_is_valid("test", body, good.replace("sha256=", "sha1="))
    assert not signature_is_valid("test", body, None)
    assert not signature_is_valid("test", body, "")
    assert not signature_is_valid("", body, signature_for("", body))  # no secret configured: fail closed
