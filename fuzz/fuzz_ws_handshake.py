"""atheris harness: the WebSocket opening handshake machines, both roles.

Property: arbitrary bytes, delivered in one to three cuts chosen by the
fuzzer, either give handshake events or raise a ``SockitError`` subclass.
A server that sees a request accepts it (offering permessage-deflate and the
first subprotocol) or rejects it, as a control bit says, so the 101 path and
``accept_headers``' negotiation run on fuzzed offers. A client uses the
RFC 6455 sample key, so a seed's valid 101 stays valid. Any other exception
is a crash.
"""

import itertools
import sys

import atheris

with atheris.instrument_imports():
    from sockit.errors import LocalProtocolError, SockitError
    from sockit.limits import HTTP1Limits
    from sockit.proto.http1 import HTTP1Config
    from sockit.proto.ws.extensions import DeflateConfig
    from sockit.proto.ws.handshake import HandshakeRequest, HandshakeState
    from sockit.proto.ws.handshake_client import ClientHandshake
    from sockit.proto.ws.handshake_server import ServerHandshake

SMALL = HTTP1Config(
    limits=HTTP1Limits(max_header_count=16, max_header_block_size=1024, max_header_name_size=64),
    max_incomplete_event_size=256,
)
CONFIGS = (
    DeflateConfig(),
    DeflateConfig(server_no_context_takeover=True, client_max_window_bits=9),
    DeflateConfig(server_max_window_bits=10, client_no_context_takeover=True),
    None,
)


def test_one_input(raw: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(raw)
    # a 6-byte control block from the front keeps seed files readable:
    # flags (bit 0 server, bit 1 small limits, bit 2 reject, bits 3-4 deflate config),
    # cut count, two cut offsets
    ctrl = fdp.ConsumeBytes(6).ljust(6, b"\0")
    data = fdp.ConsumeBytes(fdp.remaining_bytes())
    server = bool(ctrl[0] & 1)
    config = SMALL if ctrl[0] & 2 else None
    reject = bool(ctrl[0] & 4)
    deflate = CONFIGS[(ctrl[0] >> 3) % len(CONFIGS)]
    ncuts = 1 + ctrl[1] % 3
    offsets = [int.from_bytes(ctrl[2:4], "big"), int.from_bytes(ctrl[4:6], "big")]
    cuts = sorted(o % (len(data) + 1) for o in offsets[: ncuts - 1])
    bounds = [0, *cuts, len(data)]

    machine: ServerHandshake | ClientHandshake
    if server:
        machine = ServerHandshake(config=config)
    else:
        machine = ClientHandshake(
            "server.example.com",
            "/chat",
            subprotocols=("chat", "superchat"),
            deflate=deflate,
            key_source=lambda n: b"the sample nonce",
            config=config,
            max_refusal_body=64,
        )
        machine.data_to_send()
    try:
        for start, end in itertools.pairwise(bounds):
            for event in machine.receive_data(data[start:end]):
                if isinstance(event, HandshakeRequest) and isinstance(machine, ServerHandshake):
                    offered = event.request.subprotocols
                    try:
                        if reject:
                            machine.reject(403)
                        else:
                            machine.accept(offered[0] if offered else None, deflate)
                    except LocalProtocolError:
                        # only legal when the machine already failed on early bytes
                        assert machine.state is HandshakeState.FAILED
                    machine.data_to_send()
        machine.receive_data(b"")
        machine.receive_eof()
        _ = machine.trailing_data
    except SockitError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
