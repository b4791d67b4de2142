"""Sec-WebSocket-Extensions / -Protocol parsing and permessage-deflate negotiation (RFC 7692).

Tables for the grammar (quoted values, whitespace, empty elements, syntax
errors), for the server's choice among offers (duplicates, unknown
parameters, bad values, window bits 8..15 and out of range, several offers),
for the client's checks of the response, the offers Autobahn's 13.* cases
make, and the negotiation against websockets' and wsproto's own
permessage-deflate code.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import RemoteProtocolError
from sockit.proto.ws.errors import HandshakeError
from sockit.proto.ws.extensions import (
    DeflateConfig,
    DeflateParams,
    Extension,
    accept_deflate_response,
    deflate_offer,
    format_extension,
    negotiate_deflate,
    parse_extensions,
    parse_subprotocols,
)

P = DeflateParams
PMD = "permessage-deflate"


# -- the grammar ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([b"permessage-deflate"], [Extension(PMD)]),
        ([b"Permessage-Deflate"], [Extension(PMD)]),
        (
            [b"permessage-deflate; client_max_window_bits"],
            [Extension(PMD, (("client_max_window_bits", None),))],
        ),
        (
            [b"permessage-deflate;client_max_window_bits=10;server_no_context_takeover"],
            [Extension(PMD, (("client_max_window_bits", "10"),
                             ("server_no_context_takeover", None)))],
        ),
        (
            [b'permessage-deflate; server_max_window_bits="10"'],
            [Extension(PMD, (("server_max_window_bits", "10"),))],
        ),
        (  # a quoted-pair inside a quoted value
            [b'x; a="1\\0"'],
            [Extension("x", (("a", "10"),))],
        ),
        (  # implied whitespace around ; and =
            [b"  permessage-deflate ;  Server_Max_Window_Bits = 12 \t"],
            [Extension(PMD, (("server_max_window_bits", "12"),))],
        ),
        (
            [b"foo, bar; baz=2", b"permessage-deflate"],
            [Extension("foo"), Extension("bar", (("baz", "2"),)), Extension(PMD)],
        ),
        ([b"a, , b,"], [Extension("a"), Extension("b")]),
        ([b"", b" , "], []),
        (["x-webkit-deflate-frame"], [Extension("x-webkit-deflate-frame")]),
    ],
)
def test_parse_extensions(lines: list[bytes | str], expected: list[Extension]) -> None:
    assert parse_extensions(lines) == expected


@pytest.mark.parametrize(
    "line",
    [
        b"permessage-deflate;",
        b"permessage-deflate; a=",
        b"permessage-deflate; =1",
        b'permessage-deflate; a="unterminated',
        b'permessage-deflate; a=""',  # unquotes to no token
        b'permessage-deflate; a="1 0"',  # unquotes to no token
        b"permessage-deflate a",
        b"permessage deflate",
        b"per/message",
        b";a",
        b"a;b;c=d e",
        b"a; b=(c)",
        b"a=b",
        b"\xe9t\xe9",
    ],
)
def test_parse_extensions_refuses_bad_syntax(line: bytes) -> None:
    with pytest.raises(HandshakeError) as info:
        parse_extensions([line])
    assert info.value.http_status == 400


def test_format_extension_round_trips() -> None:
    ext = Extension(PMD, (("server_no_context_takeover", None), ("client_max_window_bits", "9")))
    wire = format_extension(ext)
    assert wire == b"permessage-deflate; server_no_context_takeover; client_max_window_bits=9"
    assert parse_extensions([wire]) == [ext]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([b"chat"], ["chat"]),
        ([b"chat, superchat", b"v2.chat.example"], ["chat", "superchat", "v2.chat.example"]),
        ([b" a ,, b ,"], ["a", "b"]),
        ([b""], []),
        (["x"], ["x"]),
    ],
)
def test_parse_subprotocols(lines: list[bytes | str], expected: list[str]) -> None:
    assert parse_subprotocols(lines) == expected


@pytest.mark.parametrize("line", [b"a b", b'"chat"', b"a;b", b"chat/1 x", b"\x80"])
def test_parse_subprotocols_refuses_non_tokens(line: bytes) -> None:
    with pytest.raises(HandshakeError) as info:
        parse_subprotocols([line])
    assert info.value.http_status == 400


# -- the server's choice ---------------------------------------------------------------

DEFAULT = DeflateConfig()


@pytest.mark.parametrize(
    ("offers", "params", "response"),
    [
        ([b"permessage-deflate"], P(), b"permessage-deflate"),
        (
            [b"permessage-deflate; client_max_window_bits"],
            P(),
            b"permessage-deflate",
        ),
        (
            [b"permessage-deflate; client_max_window_bits=10"],
            P(client_max_window_bits=10),
            b"permessage-deflate; client_max_window_bits=10",
        ),
        (
            [b'permessage-deflate; client_max_window_bits="8"'],
            P(client_max_window_bits=8),
            b"permessage-deflate; client_max_window_bits=8",
        ),
        (
            [b"permessage-deflate; server_no_context_takeover"],
            P(server_no_context_takeover=True),
            b"permessage-deflate; server_no_context_takeover",
        ),
        (  # the client's hint is not echoed unless our config says so
            [b"permessage-deflate; client_no_context_takeover"],
            P(),
            b"permessage-deflate",
        ),
        (
            [b"permessage-deflate; server_max_window_bits=12"],
            P(server_max_window_bits=12),
            b"permessage-deflate; server_max_window_bits=12",
        ),
        (
            [b'permessage-deflate; server_max_window_bits="9"; server_no_context_takeover'],
            P(server_no_context_takeover=True, server_max_window_bits=9),
            b"permessage-deflate; server_no_context_takeover; server_max_window_bits=9",
        ),
        # unusable offers are skipped, the next acceptable one wins
        (
            [b"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
             b"permessage-deflate; client_max_window_bits=9"],
            P(client_max_window_bits=9),
            b"permessage-deflate; client_max_window_bits=9",
        ),
        (
            [b"permessage-deflate; foo, permessage-deflate; server_max_window_bits=11"],
            P(server_max_window_bits=11),
            b"permessage-deflate; server_max_window_bits=11",
        ),
        (
            [b"x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=16,"
             b" permessage-deflate"],
            P(),
            b"permessage-deflate",
        ),
        (  # a request for window 8 declines that offer (zlib cannot compress with it)
            [b"permessage-deflate; server_max_window_bits=8,"
             b" permessage-deflate; server_max_window_bits=9"],
            P(server_max_window_bits=9),
            b"permessage-deflate; server_max_window_bits=9",
        ),
    ],
)
def test_negotiate_table(offers: list[bytes], params: DeflateParams, response: bytes) -> None:
    assert negotiate_deflate(offers, DEFAULT) == (params, response)


@pytest.mark.parametrize(
    "offer",
    [
        b"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        b"permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        b"permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
        b"permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        b"permessage-deflate; unknown",
        b"permessage-deflate; unknown=1",
        b"permessage-deflate; server_no_context_takeover=1",
        b'permessage-deflate; client_no_context_takeover="x"',
        b"permessage-deflate; server_max_window_bits",
        b"permessage-deflate; server_max_window_bits=7",
        b"permessage-deflate; server_max_window_bits=16",
        b"permessage-deflate; server_max_window_bits=08",
        b"permessage-deflate; server_max_window_bits=010",
        b"permessage-deflate; server_max_window_bits=x",
        b"permessage-deflate; server_max_window_bits=8",
        b"permessage-deflate; client_max_window_bits=7",
        b"permessage-deflate; client_max_window_bits=16",
        b"permessage-deflate; client_max_window_bits=+9",
        b'permessage-deflate; client_max_window_bits="0x9"',
        b"deflate-frame",
    ],
)
def test_unusable_offers_are_declined(offer: bytes) -> None:
    assert negotiate_deflate([offer], DEFAULT) is None
    # ... and skipped in favour of a later good one
    got = negotiate_deflate([offer, b"permessage-deflate"], DEFAULT)
    assert got == (P(), b"permessage-deflate")


@pytest.mark.parametrize("bits", range(9, 16))
def test_every_server_window_from_9_to_15(bits: int) -> None:
    offer = f"permessage-deflate; server_max_window_bits={bits}".encode()
    assert negotiate_deflate([offer], DEFAULT) == (
        P(server_max_window_bits=bits),
        f"permessage-deflate; server_max_window_bits={bits}".encode(),
    )


@pytest.mark.parametrize("bits", range(8, 16))
def test_every_client_window_from_8_to_15(bits: int) -> None:
    offer = f"permessage-deflate; client_max_window_bits={bits}".encode()
    assert negotiate_deflate([offer], DEFAULT) == (
        P(client_max_window_bits=bits),
        f"permessage-deflate; client_max_window_bits={bits}".encode(),
    )


@pytest.mark.parametrize("bits", ["0", "1", "7", "16", "99", "-9", "9.0", "1e1", "09"])
def test_window_values_out_of_range(bits: str) -> None:
    for name in ("server_max_window_bits", "client_max_window_bits"):
        offer = f'permessage-deflate; {name}="{bits}"'.encode()
        assert negotiate_deflate([offer], DEFAULT) is None


def test_disabled_or_absent_config_negotiates_nothing() -> None:
    assert negotiate_deflate([b"permessage-deflate"], None) is None
    assert negotiate_deflate([b"permessage-deflate"], DeflateConfig(enabled=False)) is None
    assert negotiate_deflate([], DEFAULT) is None


def test_negotiate_refuses_malformed_field() -> None:
    with pytest.raises(HandshakeError) as info:
        negotiate_deflate([b"permessage-deflate; a=\"x"], DEFAULT)
    assert info.value.http_status == 400


@pytest.mark.parametrize(
    ("config", "offer", "params", "response"),
    [
        (  # our own caps on what we send: always allowed
            DeflateConfig(server_no_context_takeover=True, server_max_window_bits=10),
            b"permessage-deflate",
            P(server_no_context_takeover=True, server_max_window_bits=10),
            b"permessage-deflate; server_no_context_takeover; server_max_window_bits=10",
        ),
        (  # the smaller of the client's request and our cap
            DeflateConfig(server_max_window_bits=10),
            b"permessage-deflate; server_max_window_bits=12",
            P(server_max_window_bits=10),
            b"permessage-deflate; server_max_window_bits=10",
        ),
        (
            DeflateConfig(server_max_window_bits=13),
            b"permessage-deflate; server_max_window_bits=11",
            P(server_max_window_bits=11),
            b"permessage-deflate; server_max_window_bits=11",
        ),
        (  # 8 for our own window is raised to 9
            DeflateConfig(server_max_window_bits=8),
            b"permessage-deflate",
            P(server_max_window_bits=9),
            b"permessage-deflate; server_max_window_bits=9",
        ),
        (  # client_no_context_takeover may always be demanded
            DeflateConfig(client_no_context_takeover=True),
            b"permessage-deflate",
            P(client_no_context_takeover=True),
            b"permessage-deflate; client_no_context_takeover",
        ),
        (  # client_max_window_bits only when the client offered it
            DeflateConfig(client_max_window_bits=9),
            b"permessage-deflate",
            P(),
            b"permessage-deflate",
        ),
        (
            DeflateConfig(client_max_window_bits=9),
            b"permessage-deflate; client_max_window_bits",
            P(client_max_window_bits=9),
            b"permessage-deflate; client_max_window_bits=9",
        ),
        (
            DeflateConfig(client_max_window_bits=12),
            b"permessage-deflate; client_max_window_bits=10",
            P(client_max_window_bits=10),
            b"permessage-deflate; client_max_window_bits=10",
        ),
        (  # 8 is only agreed when the client offered it itself
            DeflateConfig(client_max_window_bits=8),
            b"permessage-deflate; client_max_window_bits=10",
            P(client_max_window_bits=9),
            b"permessage-deflate; client_max_window_bits=9",
        ),
        (
            DeflateConfig(client_max_window_bits=8),
            b"permessage-deflate; client_max_window_bits=8",
            P(client_max_window_bits=8),
            b"permessage-deflate; client_max_window_bits=8",
        ),
    ],
)
def test_server_config(
    config: DeflateConfig, offer: bytes, params: DeflateParams, response: bytes
) -> None:
    assert negotiate_deflate([offer], config) == (params, response)


# -- the client's offer and its checks of the response ----------------------------------


@pytest.mark.parametrize(
    ("config", "offer"),
    [
        (DeflateConfig(), b"permessage-deflate; client_max_window_bits"),
        (
            DeflateConfig(client_max_window_bits=10),
            b"permessage-deflate; client_max_window_bits=10",
        ),
        (
            DeflateConfig(
                server_no_context_takeover=True,
                client_no_context_takeover=True,
                server_max_window_bits=9,
                client_max_window_bits=12,
            ),
            b"permessage-deflate; server_no_context_takeover; client_no_context_takeover;"
            b" server_max_window_bits=9; client_max_window_bits=12",
        ),
    ],
)
def test_deflate_offer(config: DeflateConfig, offer: bytes) -> None:
    assert deflate_offer(config) == offer


@pytest.mark.parametrize(
    ("config", "response", "params"),
    [
        (DEFAULT, b"permessage-deflate", P()),
        (DEFAULT, b"Permessage-Deflate", P()),
        (DEFAULT, b"permessage-deflate; server_no_context_takeover",
         P(server_no_context_takeover=True)),
        (DEFAULT, b"permessage-deflate; client_no_context_takeover",
         P(client_no_context_takeover=True)),
        (DEFAULT, b"permessage-deflate; server_max_window_bits=8", P(server_max_window_bits=8)),
        (DEFAULT, b"permessage-deflate; client_max_window_bits=9", P(client_max_window_bits=9)),
        (DEFAULT, b'permessage-deflate; client_max_window_bits="15"', P()),
        # our hint binds us even when the server does not repeat it
        (DeflateConfig(client_no_context_takeover=True), b"permessage-deflate",
         P(client_no_context_takeover=True)),
        (DeflateConfig(client_max_window_bits=11), b"permessage-deflate",
         P(client_max_window_bits=11)),
        (DeflateConfig(client_max_window_bits=11),
         b"permessage-deflate; client_max_window_bits=10", P(client_max_window_bits=10)),
        (DeflateConfig(server_no_context_takeover=True),
         b"permessage-deflate; server_no_context_takeover", P(server_no_context_takeover=True)),
        (DeflateConfig(server_max_window_bits=10),
         b"permessage-deflate; server_max_window_bits=10", P(server_max_window_bits=10)),
        (DeflateConfig(server_max_window_bits=10),
         b"permessage-deflate; server_max_window_bits=9", P(server_max_window_bits=9)),
    ],
)
def test_accept_response(config: DeflateConfig, response: bytes, params: DeflateParams) -> None:
    assert accept_deflate_response(response, config) == params


@pytest.mark.parametrize(
    ("config", "response"),
    [
        (DEFAULT, b""),
        (DEFAULT, b"permessage-deflate, permessage-deflate"),
        (DEFAULT, b"permessage-deflate, x-other"),
        (DEFAULT, b"x-other"),
        (DEFAULT, b"permessage-deflate; unknown"),
        (DEFAULT, b"permessage-deflate; server_no_context_takeover; server_no_context_takeover"),
        (DEFAULT, b"permessage-deflate; client_max_window_bits"),  # needs a value in a response
        (DEFAULT, b"permessage-deflate; server_max_window_bits"),
        (DEFAULT, b"permessage-deflate; server_max_window_bits=16"),
        (DEFAULT, b"permessage-deflate; client_max_window_bits=7"),
        (DEFAULT, b"permessage-deflate; server_no_context_takeover=yes"),
        (DEFAULT, b'permessage-deflate; a="'),
        (DeflateConfig(server_no_context_takeover=True), b"permessage-deflate"),
        (DeflateConfig(server_max_window_bits=10), b"permessage-deflate"),
        (DeflateConfig(server_max_window_bits=10),
         b"permessage-deflate; server_max_window_bits=11"),
        (DeflateConfig(client_max_window_bits=10),
         b"permessage-deflate; client_max_window_bits=11"),
    ],
)
def test_accept_response_refusals(config: DeflateConfig, response: bytes) -> None:
    with pytest.raises(HandshakeError) as info:
        accept_deflate_response(response, config)
    assert info.value.http_status is None


configs = st.builds(
    DeflateConfig,
    server_no_context_takeover=st.booleans(),
    client_no_context_takeover=st.booleans(),
    server_max_window_bits=st.none() | st.integers(9, 15),
    client_max_window_bits=st.none() | st.integers(8, 15),
)


@given(client=configs, server=configs)
def test_both_ends_agree(client: DeflateConfig, server: DeflateConfig) -> None:
    got = negotiate_deflate([deflate_offer(client)], server)
    assert got is not None  # every offer we make can be accepted by our server
    params, response = got
    seen = accept_deflate_response(response, client)
    # the direction each side compresses in is agreed exactly
    assert seen.server_no_context_takeover == params.server_no_context_takeover
    assert seen.server_max_window_bits == params.server_max_window_bits
    assert seen.client_max_window_bits == params.client_max_window_bits
    # our client keeps its own no-context-takeover hint even if not echoed
    assert seen.client_no_context_takeover == (
        params.client_no_context_takeover or client.client_no_context_takeover
    )
    if client.server_max_window_bits is not None:
        assert params.server_max_window_bits <= client.server_max_window_bits
    if server.client_max_window_bits is not None:  # (8 is asked as 9)
        assert params.client_max_window_bits <= max(9, server.client_max_window_bits)


# -- Autobahn 13.* (the offers and answers kosoku's cases use) ---------------------------

AUTOBAHN_OFFERS = [  # (client offer, what we agree to)
    (b"permessage-deflate; client_no_context_takeover; client_max_window_bits", P()),
    (b"permessage-deflate; client_no_context_takeover; client_max_window_bits;"
     b" server_no_context_takeover", P(server_no_context_takeover=True)),
    (b"permessage-deflate; client_no_context_takeover; client_max_window_bits;"
     b" server_max_window_bits=9", P(server_max_window_bits=9)),
    (b"permessage-deflate; client_no_context_takeover; client_max_window_bits;"
     b" server_max_window_bits=15", P()),
    (b"permessage-deflate; client_no_context_takeover; client_max_window_bits;"
     b" server_no_context_takeover; server_max_window_bits=9",
     P(server_no_context_takeover=True, server_max_window_bits=9)),
    (b"permessage-deflate; client_no_context_takeover; client_max_window_bits;"
     b" server_no_context_takeover; server_max_window_bits=15",
     P(server_no_context_takeover=True)),
]


@pytest.mark.parametrize(("offer", "params"), AUTOBAHN_OFFERS)
def test_autobahn_13_offers_are_accepted(offer: bytes, params: DeflateParams) -> None:
    got = negotiate_deflate([offer], DEFAULT)
    assert got is not None
    assert got[0] == params


def test_autobahn_13_7_takes_the_first_of_three_offers() -> None:
    lines = [b", ".join(offer for offer, _ in (AUTOBAHN_OFFERS[4], AUTOBAHN_OFFERS[1]))
             + b", permessage-deflate; client_no_context_takeover; client_max_window_bits"]
    got = negotiate_deflate(lines, DEFAULT)
    assert got is not None
    assert got[0] == P(server_no_context_takeover=True, server_max_window_bits=9)


@pytest.mark.parametrize(
    ("response", "params"),
    [  # what kosoku's fuzzingserver answers our default offer with in 13.1 .. 13.6
        (b"permessage-deflate", P()),
        (b"permessage-deflate; client_no_context_takeover", P(client_no_context_takeover=True)),
        (b"permessage-deflate; client_max_window_bits=9", P(client_max_window_bits=9)),
        (b"permessage-deflate; client_max_window_bits=15", P()),
        (b"permessage-deflate; client_no_context_takeover; client_max_window_bits=9",
         P(client_no_context_takeover=True, client_max_window_bits=9)),
    ],
)
def test_autobahn_13_answers_are_accepted(response: bytes, params: DeflateParams) -> None:
    assert accept_deflate_response(response, DEFAULT) == params


# -- against websockets' and wsproto's permessage-deflate --------------------------------


def _ws_params(params: list[tuple[str, str | None]]) -> bytes:
    from websockets.headers import build_extension

    return build_extension([("permessage-deflate", params)]).encode()  # type: ignore[list-item]


def _ws_parse(value: bytes) -> list[tuple[str, str | None]]:
    from websockets.headers import parse_extension

    [(name, params)] = parse_extension(value.decode())
    assert name == "permessage-deflate"
    return list(params)


@given(client=configs)
def test_websockets_server_accepts_our_offer(client: DeflateConfig) -> None:
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

    factory = ServerPerMessageDeflateFactory()
    offer = deflate_offer(client)
    response, ext = factory.process_request_params(_ws_parse(offer), [])
    params = accept_deflate_response(_ws_params(response), client)
    # websockets' server compresses with remote/local as it told us
    assert ext.local_max_window_bits == params.server_max_window_bits
    assert ext.remote_max_window_bits <= params.client_max_window_bits
    assert ext.local_no_context_takeover == params.server_no_context_takeover


@given(
    server=configs,
    snct=st.booleans(),
    cnct=st.booleans(),
    smwb=st.none() | st.integers(9, 15),
    cmwb=st.none() | st.just(True) | st.integers(9, 15),  # websockets refuses 8
)
def test_websockets_client_accepts_our_answer(
    server: DeflateConfig, snct: bool, cnct: bool, smwb: int | None, cmwb: int | bool | None
) -> None:
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

    factory = ClientPerMessageDeflateFactory(
        server_no_context_takeover=snct,
        client_no_context_takeover=cnct,
        server_max_window_bits=smwb,
        client_max_window_bits=cmwb,
    )
    offer = _ws_params(list(factory.get_request_params()))
    got = negotiate_deflate([offer], server)
    assert got is not None
    params, response = got
    ext = factory.process_response_params(_ws_parse(response), [])
    assert ext.remote_max_window_bits == params.server_max_window_bits
    assert ext.local_max_window_bits == params.client_max_window_bits
    assert ext.remote_no_context_takeover == params.server_no_context_takeover
    assert ext.local_no_context_takeover == (params.client_no_context_takeover or cnct)


@given(client=configs)
def test_wsproto_server_accepts_our_offer(client: DeflateConfig) -> None:
    from wsproto.extensions import PerMessageDeflate

    ext = PerMessageDeflate()
    response = ext.accept(deflate_offer(client).decode())
    if client.client_max_window_bits == 8:  # wsproto declines a window of 8
        assert response is None
        return
    assert isinstance(response, str)  # wsproto answers with the parameters alone
    line = f"{PMD}; {response}" if response else PMD
    params = accept_deflate_response(line.encode(), client)
    assert ext.server_max_window_bits == params.server_max_window_bits
    assert ext.server_no_context_takeover == params.server_no_context_takeover


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"client_no_context_takeover": True},
        {"server_no_context_takeover": True},
        {"client_max_window_bits": 10},
        {"server_max_window_bits": 11},
        {"client_max_window_bits": 9, "server_max_window_bits": 12,
         "client_no_context_takeover": True, "server_no_context_takeover": True},
    ],
)
def test_wsproto_client_accepts_our_answer(kwargs: dict[str, object]) -> None:
    from wsproto.extensions import PerMessageDeflate

    ext = PerMessageDeflate(**kwargs)  # type: ignore[arg-type]
    offer = ext.offer()
    line = f"permessage-deflate; {offer}" if isinstance(offer, str) and offer else PMD
    got = negotiate_deflate([line.encode()], DEFAULT)
    assert got is not None
    params, response = got
    ext.finalize(response.decode())
    assert ext.enabled()
    assert ext.server_max_window_bits == params.server_max_window_bits
    assert ext.client_max_window_bits == params.client_max_window_bits
    assert ext.server_no_context_takeover == params.server_no_context_takeover
    assert ext.client_no_context_takeover == (
        params.client_no_context_takeover or bool(kwargs.get("client_no_context_takeover"))
    )


# -- configuration values and arbitrary input -------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"server_max_window_bits": 7},
        {"client_max_window_bits": 16},
        {"client_max_window_bits": True},
        {"level": 10},
        {"level": -1},
        {"min_size": -1},
        {"enabled": 1},
    ],
)
def test_config_values_are_checked(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DeflateConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("bits", [7, 16, True])
def test_params_values_are_checked(bits: int) -> None:
    with pytest.raises(ValueError):
        DeflateParams(server_max_window_bits=bits)
    with pytest.raises(ValueError):
        DeflateParams(client_max_window_bits=bits)


@given(st.lists(st.binary(max_size=80), max_size=3))
def test_arbitrary_offers_only_raise_handshake_errors(lines: list[bytes]) -> None:
    try:
        got = negotiate_deflate(lines, DEFAULT)
    except HandshakeError as exc:
        assert exc.http_status == 400
    else:
        assert got is None or isinstance(got[0], DeflateParams)


_ALPHABET = st.sampled_from(
    [" ", ";", ",", "=", '"', "\\", "\t", "a", "permessage-deflate", "server_no_context_takeover",
     "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits",
     "8", "9", "15", "16", "\x80"]
)


@given(st.lists(_ALPHABET, max_size=20).map("".join))
def test_arbitrary_responses_only_raise_handshake_errors(text: str) -> None:
    for config in (DEFAULT, DeflateConfig(server_no_context_takeover=True)):
        try:
            params = accept_deflate_response(text.encode("latin-1"), config)
        except RemoteProtocolError as exc:
            assert isinstance(exc, HandshakeError)
        else:
            assert 8 <= params.server_max_window_bits <= 15
            assert 8 <= params.client_max_window_bits <= 15
