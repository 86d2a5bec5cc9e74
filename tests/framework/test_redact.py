"""Secrets are found by name and by shape wherever they stand in a text, and ordinary text is left alone."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest

from footfall.redact import forget, is_secret, redact, redact_strings, remember_url


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    """Each case on its own: nothing masked because an earlier case remembered it."""
    forget()
    yield
    forget()


SECRET = "Wq4-sentinel-27c8"
# A JWT (header {"alg":"HS256","typ":"JWT"}, payload {"sub":"1"}) and an AWS access key id of the documented shape.
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"

# Every name the rule covers (a name containing key, token, secret, sig, pass, auth, jwt, bearer, credential,
# session; every X-Amz-*), in the forms a URL can spell it.
NAMED = [
    "access_key", "AccessKey", "aws_secret_access_key", "x-api-key", "jwt", "JWT", "id_jwt", "bearer",
    "bearer_token", "auth", "Authorization", "oauth_verifier", "passphrase", "PASS", "session", "sessionid",
    "JSESSIONID", "credentials", "sigv4", "Signature", "X-Amz-Date", "X-Amz-Expires", "x-amz-signedheaders",
    "client_secret", "refresh_token", "pwd",
]
ENCODED_NAMES = ["access%5Fkey", "%61ccess_key", "%6A%77%74", "ACCESS%255FKEY", "%24%24app_token",
                 "X%2DAmz%2DSignature"]


@pytest.mark.parametrize("name", NAMED + ENCODED_NAMES)
def test_a_parameter_named_like_a_credential_is_masked_in_query_fragment_and_matrix(name: str) -> None:
    assert is_secret(name)
    for template in ("https://h.example/x.csv?limit=5&{n}={s}&where=a", "https://h.example/x.csv?limit=5#{n}={s}",
                     "https://h.example/x.csv;{n}={s}?limit=5", "https://h.example/x.csv?limit=5;{n}={s};b=2"):
        shown = redact(template.format(n=name, s=SECRET))
        assert SECRET not in shown
        assert f"{name}=***" in shown and "h.example/x.csv" in shown and "limit=5" in shown


# (text with the secret in it, text as it must read)
SHAPES = [
    (f"https://h.example/x?key=a1b2&key={SECRET}&Key={SECRET}", "https://h.example/x?key=***&key=***&Key=***"),
    (f"https://h.example/x?next=https://o.example/y?token={SECRET}&b=1",
     "https://h.example/x?next=https://o.example/y?token=***&b=1"),
    (f"https://h.example/x?next={quote(f'https://o.example/y?jwt={SECRET}&b=1', safe='')}&c=2",
     "https://h.example/x?next=https%3A%2F%2Fo.example%2Fy%3Fjwt%3D***%26b%3D1&c=2"),
    (f"https://h.example/x?next={quote(quote(f'https://o.example/y?bearer={SECRET}', safe=''), safe='')}",
     "https://h.example/x?next=https%253A%252F%252Fo.example%252Fy%253Fbearer%253D***"),
    (f"https://h.example/x?next={quote(f'https://ann:{SECRET}@o.example/y', safe='')}",
     "https://h.example/x?next=https%3A%2F%2F***%40o.example%2Fy"),
    (f"HTTPS://ann:{SECRET}@h.example/x", "HTTPS://***@h.example/x"),
    (f"s3://{SECRET}@bucket/key", "s3://***@bucket/key"),
    (f"ftp://{SECRET}:{SECRET}@h.example/x", "ftp://***@h.example/x"),
    (f"https://h.example/x?access_key={SECRET}.", "https://h.example/x?access_key=***."),
    (f"session={SECRET}&limit=5", "session=***&limit=5"),
    (f"the server said: refused access_key={SECRET} at 10:00", "the server said: refused access_key=*** at 10:00"),
    (f"token in a JWT: {JWT}, then more", "token in a JWT: ***, then more"),
    (f"https://h.example/x/{JWT}/y", "https://h.example/x/***/y"),
    (f"sent Authorization: Bearer {SECRET} to h.example", "sent Authorization: Bearer *** to h.example"),
    (f"sent Bearer {SECRET}", "sent Bearer ***"),
    (f"bearer%20{SECRET}", "bearer%20***"),
    (f"{{'authorization': 'Basic {SECRET}'}}", "{'authorization': 'Basic ***'}"),
    (f"key id {AWS_KEY_ID} denied", "key id *** denied"),
    (f"ASIA{AWS_KEY_ID[4:]} (temporary)", "*** (temporary)"),
]


@pytest.mark.parametrize(("text", "expected"), SHAPES)
def test_a_secret_is_found_by_its_shape_wherever_it_stands(text: str, expected: str) -> None:
    assert redact(text) == expected


ORDINARY = [
    "https://h.example/x.csv?limit=5&where=sensing_date%20%3E%3D%20date'2024-01-01'&select=location_id",
    "https://h.example/exports/csv?delimiter=%3B&use_labels=true&timezone=Australia%2FMelbourne&order_by=id",
    "https://h.example/api/views/b2ak-trbp/rows.csv?accessType=DOWNLOAD",
    "https://h.example/resource/b2ak-trbp.json?$limit=50000&$offset=100000&$order=:id",
    "error: /data/2024 counts.csv: matches no known format (header ID, Sensing_Date, HourDay)",
    "  parse   counts/0a1b2c3d4e5f60718293.csv      1,234,567 rows    3.21s  ods_csv; 0 malformed line(s)",
    "footfall.melbourne.pipeline: the key of a location is its id; basic checks passed",
    "set FOOTFALL_MEMORY_LIMIT=4GB and run again",
    "Flinders St-Spark La (id 12) leads with 41,233 pedestrians on 2019-11-01",
    "AKIA is a prefix, AKIAshort is not a key id, nor is XAKIAQWERTYUIOPASDFGH1",
    "a.b.c, eyJ alone, and v1.2.3 are not tokens",
    'cannot write "/srv/secrets/keys/lake/transformed/hourly_counts/year=2024/month=8/part-0.parquet": full',
    "error: /home/passant/lake/_staging/x/transformed/hourly_counts/year=2025/month=10: no space left",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_and_urls_without_secrets_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_a_name_that_only_contains_a_secret_word_is_masked_too() -> None:
    """The rule is "contains": harmless names that contain a secret word are masked (the documented cost)."""
    assert redact("https://h.example/x?monkey=1&author=ann&limit=5") == "https://h.example/x?monkey=***&author=***&limit=5"


def test_a_short_or_numeric_value_masked_by_name_is_not_masked_everywhere_afterwards() -> None:
    """Values found by name are remembered only when they look like credentials, so an expiry of 3600 or a
    SignedHeaders of `host` does not turn every later 3600 or `localhost` into ***."""
    remember_url("https://b.example/o?X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=" + SECRET)
    assert redact("36001 rows from localhost") == "36001 rows from localhost"
    assert redact(f"the server echoed {SECRET} back") == "the server echoed *** back"


def test_stored_json_has_every_string_redacted_and_its_keys_kept() -> None:
    data = {"url": f"https://h.example/x?access_key={SECRET}", "params": {"limit": "5"},
            "file_key": 7, "notes": [f"Bearer {SECRET}", None]}
    assert redact_strings(data) == {"url": "https://h.example/x?access_key=***", "params": {"limit": "5"},
                                    "file_key": 7, "notes": ["Bearer ***", None]}
