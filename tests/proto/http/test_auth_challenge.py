"""Challenge parsing (RFC 9110 §11) and Digest arithmetic (RFC 7616)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import LocalProtocolError, SockitError
from sockit.proto.http import Headers, InvalidHeader
from sockit.proto.http.auth_challenge import (
    Challenge,
    DigestAlgorithm,
    DigestChallenge,
    UnsupportedChallenge,
    challenges_from_headers,
    choose_qop,
    digest_authorization,
    digest_ha1,
    digest_hash,
    digest_response,
    format_nc,
    parse_challenges,
    parse_credentials,
)

# RFC 7616 §3.9.1
RFC_REALM = "http-auth@example.org"
RFC_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC_CHALLENGE = (
    f'Digest realm="{RFC_REALM}", qop="auth, auth-int", algorithm={{alg}}, '
    f'nonce="{RFC_NONCE}", opaque="{RFC_OPAQUE}"'
)


def rfc_challenge(alg: str) -> DigestChallenge:
    return DigestChallenge.from_challenge(parse_challenges(RFC_CHALLENGE.format(alg=alg))[0])


@pytest.mark.parametrize(
    ("alg", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_worked_examples(alg: str, expected: str) -> None:
    value = digest_authorization(
        rfc_challenge(alg),
        username="Mufasa",
        password=bytearray(b"Circle of Life"),
        method="GET",
        uri="/dir/index.html",
        nc=1,
        cnonce=RFC_CNONCE,
    )
    creds = parse_credentials(value)
    assert creds.scheme == "digest"
    assert creds.param("response") == expected
    assert creds.param("username") == "Mufasa"
    assert creds.param("realm") == RFC_REALM
    assert creds.param("uri") == "/dir/index.html"
    assert creds.param("nonce") == RFC_NONCE
    assert creds.param("cnonce") == RFC_CNONCE
    assert creds.param("opaque") == RFC_OPAQUE
    assert creds.param("nc") == "00000001"
    assert creds.param("qop") == "auth"
    assert creds.param("algorithm") == alg
    # nc, qop and algorithm are sent as tokens, the rest quoted (RFC 7616 §3.4)
    assert "nc=00000001" in value and "qop=auth," in value and f"algorithm={alg}," in value


def test_rfc7616_example_by_the_parts() -> None:
    alg = DigestAlgorithm.MD5
    ha1 = digest_ha1(alg, b"Mufasa", RFC_REALM.encode(), b"Circle of Life")
    assert ha1 == digest_hash(alg, b"Mufasa", RFC_REALM.encode(), b"Circle of Life")
    response = digest_response(
        alg, ha1, nonce=RFC_NONCE, method="GET", uri="/dir/index.html",
        qop="auth", nc="00000001", cnonce=RFC_CNONCE,
    )
    assert response == "8ca523f5e9506fed4657c9700eebdbec"


def test_session_variant_binds_nonce_and_cnonce() -> None:
    alg = DigestAlgorithm.SHA_256_SESS
    plain = digest_hash(DigestAlgorithm.SHA_256, b"u", b"r", b"p")
    ha1 = digest_ha1(alg, b"u", b"r", b"p", "n1", "c1")
    assert ha1 == digest_hash(alg, plain.encode(), b"n1", b"c1")
    assert ha1 != digest_ha1(alg, b"u", b"r", b"p", "n1", "c2")
    assert alg.session and alg.hash_name == "sha256"
    assert not DigestAlgorithm.MD5.session


def test_rfc2069_form_without_qop() -> None:
    ch = DigestChallenge.from_challenge(parse_challenges('Digest realm="r", nonce="n"')[0])
    assert ch.qop == () and ch.algorithm is DigestAlgorithm.MD5
    value = digest_authorization(
        ch, username="u", password=b"p", method="GET", uri="/", nc=1, cnonce="c"
    )
    creds = parse_credentials(value)
    assert creds.param("nc") is None and creds.param("cnonce") is None
    alg = DigestAlgorithm.MD5
    ha1 = digest_hash(alg, b"u", b"r", b"p")
    ha2 = digest_hash(alg, b"GET", b"/")
    assert creds.param("response") == digest_hash(alg, ha1.encode(), b"n", ha2.encode())


def test_auth_int_hashes_the_body() -> None:
    alg = DigestAlgorithm.SHA_256
    with_body = digest_response(
        alg, "ha1", nonce="n", method="POST", uri="/", qop="auth-int",
        nc="00000001", cnonce="c", body=b"data",
    )
    ha2 = digest_hash(alg, b"POST", b"/", digest_hash(alg, b"data").encode())
    assert with_body == digest_hash(alg, b"ha1", b"n", b"00000001", b"c", b"auth-int", ha2.encode())
    with pytest.raises(LocalProtocolError):
        digest_response(alg, "ha1", nonce="n", method="POST", uri="/", qop="auth-int",
                        nc="00000001", cnonce="c")


def test_choose_qop() -> None:
    def ch(qop: str) -> DigestChallenge:
        return DigestChallenge(realm="r", nonce="n", qop=tuple(qop.split(",")))

    assert choose_qop(ch("auth-int,auth")) == "auth"
    assert choose_qop(ch("auth-int"), have_body=True) == "auth-int"
    with pytest.raises(UnsupportedChallenge, match="auth-int"):
        choose_qop(ch("auth-int"))
    with pytest.raises(UnsupportedChallenge, match="unsupported"):
        choose_qop(ch("x-secret"))
    assert choose_qop(DigestChallenge(realm="r", nonce="n")) is None


def test_algorithm_names() -> None:
    assert DigestAlgorithm.parse(None) is DigestAlgorithm.MD5
    assert DigestAlgorithm.parse("sha-256-SESS") is DigestAlgorithm.SHA_256_SESS
    assert DigestAlgorithm.parse("SHA-512-256").hash_name == "sha512_256"
    with pytest.raises(UnsupportedChallenge, match="SHA-1"):
        DigestAlgorithm.parse("SHA-1")


def test_format_nc_bounds() -> None:
    assert format_nc(1) == "00000001"
    assert format_nc(0xFFFFFFFF) == "ffffffff"
    for bad in (0, 0x1_0000_0000):
        with pytest.raises(LocalProtocolError):
            format_nc(bad)


def test_userhash_and_utf8_username() -> None:
    base = 'Digest realm="api@example.org", nonce="n", qop=auth, algorithm=SHA-256'
    hashed = DigestChallenge.from_challenge(parse_challenges(base + ", userhash=true")[0])
    creds = parse_credentials(digest_authorization(
        hashed, username="Mufasa", password=b"p", method="GET", uri="/", nc=1, cnonce="c"))
    assert creds.param("userhash") == "true"
    assert creds.param("username") == digest_hash(
        DigestAlgorithm.SHA_256, b"Mufasa", b"api@example.org")
    utf8 = DigestChallenge.from_challenge(parse_challenges(base + ", charset=UTF-8")[0])
    assert utf8.utf8
    value = digest_authorization(
        utf8, username="J\u00e4s\u00f8n Doe", password=b"p", method="GET", uri="/", nc=1,
        cnonce="c")
    assert "username*=UTF-8''J%C3%A4s%C3%B8n%20Doe" in value
    # no charset agreed: the UTF-8 octets go out as obs-text in a quoted-string
    plain = DigestChallenge.from_challenge(parse_challenges(base)[0])
    value = digest_authorization(
        plain, username="J\u00e4s\u00f8n", password=b"p", method="GET", uri="/", nc=1, cnonce="c")
    raw = value.encode("latin-1")
    assert b'username="J\xc3\xa4s\xc3\xb8n"' in raw


def test_digest_challenge_fields() -> None:
    ch = DigestChallenge.from_challenge(parse_challenges(
        'DIGEST realm="r", nonce="n", domain="/a /b http://other/c", stale=TRUE, '
        "algorithm=md5-sess, qop=\"auth,auth-int\", opaque=o")[0])
    assert ch.domain == ("/a", "/b", "http://other/c")
    assert ch.stale and ch.algorithm is DigestAlgorithm.MD5_SESS
    assert ch.qop == ("auth", "auth-int") and ch.opaque == "o"
    for bad in ('Digest nonce="n"', 'Digest realm="r"'):
        with pytest.raises(InvalidHeader):
            DigestChallenge.from_challenge(parse_challenges(bad)[0])
    with pytest.raises(LocalProtocolError):
        DigestChallenge.from_challenge(Challenge("basic"))


# -- the challenge grammar -------------------------------------------------------

PARSE_TABLE = [
    ("Basic", [Challenge("basic")]),
    ('Basic realm="WallyWorld"', [Challenge("basic", (("realm", "WallyWorld"),))]),
    # RFC 7617 §2.1: the charset parameter
    ('Basic realm="foo", charset="UTF-8"',
     [Challenge("basic", (("realm", "foo"), ("charset", "UTF-8")))]),
    # RFC 9110 §11.6.1: two challenges in one field, escapes resolved
    ('Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
     [Challenge("newauth", (("realm", "apps"), ("type", "1"), ("title", 'Login to "apps"'))),
      Challenge("basic", (("realm", "simple"),))]),
    ("Negotiate YIIBgAYGKwYBBQUC==, Basic realm=x",
     [Challenge("negotiate", (), "YIIBgAYGKwYBBQUC=="), Challenge("basic", (("realm", "x"),))]),
    # RFC 6750 §3
    ('Bearer realm="example", error="invalid_token", error_description="expired"',
     [Challenge("bearer", (("realm", "example"), ("error", "invalid_token"),
                           ("error_description", "expired")))]),
    ('Digest realm="r", nonce="a,b", qop="auth,auth-int"',
     [Challenge("digest", (("realm", "r"), ("nonce", "a,b"), ("qop", "auth,auth-int")))]),
    ("Basic, Bearer", [Challenge("basic"), Challenge("bearer")]),
    (" , ,Basic ,, ", [Challenge("basic")]),
    ("Basic , realm=x", [Challenge("basic", (("realm", "x"),))]),
    ("Basic realm = x", [Challenge("basic", (("realm", "x"),))]),
    ("Bearer abc=", [Challenge("bearer", (), "abc=")]),
    ("", []),
]


@pytest.mark.parametrize(("value", "expected"), PARSE_TABLE)
def test_parse_table(value: str, expected: list[Challenge]) -> None:
    assert parse_challenges(value) == expected
    assert parse_challenges(value.encode("latin-1")) == expected


@pytest.mark.parametrize(
    "value",
    [
        "Basic=x",
        "Basic realm=x nonce=y",
        "Bearer abc def",
        'Basic realm="unterminated',
        "Basic realm=x, REALM=y",
        '"quoted" scheme',
        "Basic realm=x;y",
        "Basic @",
        "(comment)",
    ],
)
def test_parse_refuses_garbage(value: str) -> None:
    with pytest.raises(InvalidHeader):
        parse_challenges(value)


def test_params_and_realm_lookup() -> None:
    ch = parse_challenges('Basic REALM="x", Charset=utf-8')[0]
    assert ch.realm == "x"
    assert ch.param("charset") == ch.param("CHARSET") == "utf-8"
    assert ch.param("missing") is None


def test_credentials_must_be_one_item() -> None:
    assert parse_credentials("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==").token68 == (
        "QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    for bad in ("", "Basic a, Digest realm=x"):
        with pytest.raises(InvalidHeader):
            parse_credentials(bad)


def test_headers_collect_every_line_and_skip_broken_ones() -> None:
    headers = Headers([
        ("WWW-Authenticate", 'Digest realm="r", nonce="n", algorithm=SHA-256'),
        ("WWW-Authenticate", "Basic realm=x nonce=y"),  # broken: skipped
        ("WWW-Authenticate", 'Basic realm="b"'),
        ("Proxy-Authenticate", 'Basic realm="proxy"'),
    ])
    assert [c.scheme for c in challenges_from_headers(headers)] == ["digest", "basic"]
    proxy = challenges_from_headers(headers, proxy=True)
    assert proxy == [Challenge("basic", (("realm", "proxy"),))]


_PIECES = st.sampled_from([*' \t,;="\\=/+-._~abcXYZ019\x80\xff', "Digest ", "realm=", "nonce="])


@given(st.lists(_PIECES, max_size=40).map("".join) | st.text(max_size=60))
def test_arbitrary_values_parse_or_raise_sockit_errors(value: str) -> None:
    try:
        challenges = parse_challenges(value)
    except SockitError:
        return
    for challenge in challenges:
        assert challenge.scheme == challenge.scheme.lower()
        assert challenge.token68 is None or not challenge.params
        if challenge.scheme != "digest":
            continue
        try:
            digest = DigestChallenge.from_challenge(challenge)
        except SockitError:
            continue
        assert digest.realm == challenge.realm


@given(st.binary(max_size=60))
def test_arbitrary_header_bytes_never_escape(raw: bytes) -> None:
    if b"\r" in raw or b"\n" in raw or b"\x00" in raw:
        return
    headers = Headers.from_raw([(b"WWW-Authenticate", raw)])
    challenges = challenges_from_headers(headers)  # never raises: broken lines are skipped
    assert all(isinstance(c, Challenge) for c in challenges)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["realm", "nonce", "qop", "x-a", "title"]),
            st.text(
                st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
                max_size=12,
            ),
        ),
        max_size=4,
        unique_by=lambda p: p[0],
    )
)
def test_quoted_params_round_trip(params: list[tuple[str, str]]) -> None:
    text = ", ".join(
        f'{name}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for name, value in params
    )
    value = "Digest " + text + ", Basic realm=b"
    parsed = parse_challenges(value)
    assert parsed == [Challenge("digest", tuple(params)), Challenge("basic", (("realm", "b"),))]
    # whatever the server's values, answering either works or raises a sockit error
    try:
        digest = DigestChallenge.from_challenge(parsed[0])
        answer = digest_authorization(
            digest, username="u", password=b"p", method="GET", uri="/", nc=1, cnonce="c")
    except SockitError:
        return
    assert parse_credentials(answer).param("realm") == digest.realm


def test_text_beyond_latin1_is_a_local_error() -> None:
    ch = DigestChallenge(realm="r\u20ac", nonce="n", qop=("auth",))
    with pytest.raises(LocalProtocolError, match="realm"):
        digest_authorization(ch, username="u", password=b"p", method="GET", uri="/", nc=1,
                             cnonce="c")
    with pytest.raises(LocalProtocolError, match="uri"):
        digest_response(DigestAlgorithm.MD5, "h", nonce="n", method="GET", uri="/\u20ac",
                        qop=None)
    with pytest.raises(LocalProtocolError, match="nc"):
        digest_response(DigestAlgorithm.MD5, "h", nonce="n", method="GET", uri="/",
                        qop="auth", nc="1")
