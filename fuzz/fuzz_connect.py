"""atheris harness: the HTTP CONNECT client and server machines.

Property: arbitrary bytes, in one to three cuts chosen by the fuzzer, either
give events or raise a ``SockitError``; after an error the machine is FAILED
(or CLOSED) and keeps raising or ignoring input, never crashing; the server's
answer (accept, refuse, 407) is taken from the control block so every path
runs; in TUNNEL every later byte is ``trailing_data``.

A 6-byte control block from the front: flags (bit 0 server, bits 1-2 the
server's answer), cut count, two 16-bit cut offsets.
"""

import itertools
import sys

import atheris

with atheris.instrument_imports():
    from sockit.errors import SockitError
    from sockit.limits import HTTP1Limits
    from sockit.proto.connect import ConnectClient, ConnectServer, ConnectState

LIMITS = HTTP1Limits(max_header_block_size=4096, max_header_value_size=1024)


def decide(server: ConnectServer, how: int) -> None:
    if server.state is not ConnectState.REQUEST_RECEIVED:
        return
    if how == 0:
        server.accept()
    elif how == 1:
        server.refuse(403, "Forbidden")
    else:
        server.require_auth("fuzz")


def test_one_input(raw: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(raw)
    ctrl = fdp.ConsumeBytes(6).ljust(6, b"\0")
    data = fdp.ConsumeBytes(fdp.remaining_bytes())
    flags = ctrl[0]
    machine: ConnectClient | ConnectServer
    if flags & 1:
        machine = ConnectServer(limits=LIMITS)
    else:
        machine = ConnectClient("example.com", 443, proxy_auth=("u", "p"), limits=LIMITS)
    ncuts = 1 + ctrl[1] % 3
    offsets = [int.from_bytes(ctrl[2:4], "big"), int.from_bytes(ctrl[4:6], "big")]
    cuts = sorted(o % (len(data) + 1) for o in offsets[: ncuts - 1])
    bounds = [0, *cuts, len(data)]
    tunnel_at = None
    try:
        for start, end in itertools.pairwise(bounds):
            machine.receive_data(data[start:end])
            if isinstance(machine, ConnectServer):
                decide(machine, (flags >> 1) & 3)
            if tunnel_at is None and machine.state is ConnectState.TUNNEL:
                tunnel_at = end
            machine.data_to_send()
        machine.receive_eof()
    except SockitError:
        assert machine.state in (ConnectState.FAILED, ConnectState.CLOSED)
        return
    if tunnel_at is not None:
        assert data.endswith(machine.trailing_data)
        assert data[tunnel_at:] == machine.trailing_data[len(machine.trailing_data)
                                                         - len(data[tunnel_at:]):]


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
