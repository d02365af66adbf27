"""Signing by the server and verification by the client, against the Standard Webhooks example."""

from __future__ import annotations

import pytest
from dealstream import WebhookVerificationError, verify_webhook
from dealstream.webhooks import sign_webhook

from webhooks.signing import SECRET_PREFIX, delivery_headers, generate_secret, sign

# The example of the Standard Webhooks specification (and of its reference libraries).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def spec_headers(signature: str = SPEC_SIGNATURE, timestamp: int = SPEC_TIMESTAMP) -> dict[str, str]:
    return {"webhook-id": SPEC_ID, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def test_it_signs_the_standard_webhooks_example() -> None:
    assert sign(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, SPEC_SECRET) == SPEC_SIGNATURE
    assert sign_webhook(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, SPEC_SECRET) == SPEC_SIGNATURE


def test_it_verifies_the_standard_webhooks_example() -> None:
    assert verify_webhook(SPEC_BODY, spec_headers(), SPEC_SECRET, now=SPEC_TIMESTAMP + 10) == {
        "test": 2432232314
    }


def test_it_generates_distinct_secrets_of_192_bits() -> None:
    first, second = generate_secret(), generate_secret()
    assert first.startswith(SECRET_PREFIX)
    assert first != second
    assert len(first) == len(SECRET_PREFIX) + 32  # 24 bytes in base64


def test_it_sends_one_signature_per_valid_secret_and_either_verifies() -> None:
    old, new = generate_secret(), generate_secret()
    headers = delivery_headers("42", SPEC_TIMESTAMP, b'{"id":42}', [new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        assert verify_webhook(b'{"id":42}', headers, secret, now=SPEC_TIMESTAMP) == {"id": 42}
    with pytest.raises(WebhookVerificationError, match="No webhook signature matches"):
        verify_webhook(b'{"id":42}', headers, generate_secret(), now=SPEC_TIMESTAMP)


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b'{"test": 2432232315}', spec_headers(), "No webhook signature matches"),
        (SPEC_BODY, spec_headers("v1,bm90IHRoZSBzaWduYXR1cmU="), "No webhook signature matches"),
        (SPEC_BODY, spec_headers("v2," + SPEC_SIGNATURE[3:]), "No webhook signature matches"),
        (SPEC_BODY, spec_headers("v1,%%%"), "No webhook signature matches"),
        (SPEC_BODY, spec_headers(timestamp=SPEC_TIMESTAMP - 301), "more than 300 s away"),
        (SPEC_BODY, spec_headers(timestamp=SPEC_TIMESTAMP + 301), "more than 300 s away"),
        (SPEC_BODY, {"webhook-id": SPEC_ID, "webhook-signature": SPEC_SIGNATURE}, "no webhook-timestamp"),
        (SPEC_BODY, {**spec_headers(), "webhook-timestamp": "soon"}, "not a Unix time"),
    ],
)
def test_it_refuses_what_is_not_a_fresh_genuine_delivery(
    body: bytes, headers: dict[str, str], message: str
) -> None:
    with pytest.raises(WebhookVerificationError, match=message):
        verify_webhook(body, headers, SPEC_SECRET, now=SPEC_TIMESTAMP)


def test_it_reads_headers_in_any_case_and_text_payloads() -> None:
    headers = {name.title(): value for name, value in spec_headers().items()}
    assert verify_webhook(SPEC_BODY.decode(), headers, SPEC_SECRET, now=SPEC_TIMESTAMP) == {
        "test": 2432232314
    }


def test_it_says_when_the_secret_is_malformed() -> None:
    with pytest.raises(WebhookVerificationError, match="not a valid whsec_ secret"):
        verify_webhook(SPEC_BODY, spec_headers(), "whsec_***", now=SPEC_TIMESTAMP)
