"""atheris harness: the SOCKS client and server machines, the UDP header codec, proxy URLs.

Property: arbitrary bytes, delivered in one to three cuts chosen by the
fuzzer, either give events or raise a ``SockitError`` from ``receive_data``
/ ``receive_eof``; after an error the machine is FAILED and raises again;
the server's decisions (credentials accepted, request granted or refused)
are taken from the control block so every answer path runs. The same bytes
through ``decode_udp_datagram`` decode (and re-encode to an equal datagram)
or raise a ``SockitError``; as text, ``ProxyURL.parse`` parses or raises
``ProxyURLError``.

A 6-byte control block from the front: flags (bit 0 server, bits 1-2 client
version, bit 3 credentials / require_auth, bit 4 small limits, bits 5-6
command, bit 7 the server refuses), cut count, two 16-bit cut offsets.
"""

import itertools
import sys

import atheris

with atheris.instrument_imports():
    from sockit.errors import SockitError
    from sockit.limits import ProxyLimits
    from sockit.proto.proxy_url import ProxyURL, ProxyURLError
    from sockit.proto.socks import (
        CredentialsReceived,
        SOCKSClient,
        SOCKSClientState,
        SOCKSCommand,
        SOCKSServer,
        SOCKSServerState,
        SOCKSVersion,
        decode_udp_datagram,
        encode_udp_datagram,
    )

SMALL = ProxyLimits(max_username_size=8, max_password_size=8, max_hostname_size=16)
VERSIONS = (SOCKSVersion.SOCKS4, SOCKSVersion.SOCKS4A, SOCKSVersion.SOCKS5, SOCKSVersion.SOCKS5)


def make_client(flags: int) -> SOCKSClient:
    version = VERSIONS[(flags >> 1) & 3]
    command = SOCKSCommand(1 + (flags >> 5) % 3)
    if version is not SOCKSVersion.SOCKS5 and command is SOCKSCommand.UDP_ASSOCIATE:
        command = SOCKSCommand.BIND
    creds = {"username": "user", "password": "pw"} if flags & 8 and version.name == "SOCKS5" else {}
    host = "192.0.2.7" if version is SOCKSVersion.SOCKS4 else "example.com"
    return SOCKSClient(version, host, 443, command=command, **creds)


def answer(server: SOCKSServer, events: list[object], refuse: bool) -> None:
    for event in events:
        if isinstance(event, CredentialsReceived) and (
            server.state is SOCKSServerState.CREDENTIALS_RECEIVED
        ):
            server.accept_credentials(not refuse)
    if server.state is SOCKSServerState.CREDENTIALS_RECEIVED:
        return
    if server.state in (SOCKSServerState.REQUEST_RECEIVED, SOCKSServerState.BIND_WAITING):
        if refuse:
            server.reply_failure(5)
        else:
            server.reply_success("10.0.0.1", 1080)


def test_one_input(raw: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(raw)
    ctrl = fdp.ConsumeBytes(6).ljust(6, b"\0")
    data = fdp.ConsumeBytes(fdp.remaining_bytes())
    flags = ctrl[0]
    limits = SMALL if flags & 16 else ProxyLimits()
    server = flags & 1
    machine: SOCKSClient | SOCKSServer
    if server:
        machine = SOCKSServer(require_auth=bool(flags & 8), limits=limits)
    else:
        machine = make_client(flags)
    ncuts = 1 + ctrl[1] % 3
    offsets = [int.from_bytes(ctrl[2:4], "big"), int.from_bytes(ctrl[4:6], "big")]
    cuts = sorted(o % (len(data) + 1) for o in offsets[: ncuts - 1])
    bounds = [0, *cuts, len(data)]
    failed = None
    try:
        for start, end in itertools.pairwise(bounds):
            events = machine.receive_data(data[start:end])
            if isinstance(machine, SOCKSServer):
                answer(machine, events, bool(flags & 128))
                answer(machine, machine.receive_data(b""), bool(flags & 128))
            machine.data_to_send()
        machine.receive_eof()
    except SockitError as exc:
        failed = exc
    if failed is not None:
        assert machine.state in (SOCKSClientState.FAILED, SOCKSServerState.FAILED)
        try:
            machine.receive_data(b"")
        except SockitError:
            pass
        else:
            raise AssertionError("a failed machine accepted more input")

    try:
        datagram = decode_udp_datagram(data, limits=limits)
    except SockitError:
        pass
    else:
        again = encode_udp_datagram(datagram.host, datagram.port, datagram.payload,
                                    fragment=datagram.fragment)
        assert decode_udp_datagram(again) == datagram

    try:
        url = ProxyURL.parse(data.decode("utf-8", "replace"))
    except ProxyURLError:
        pass
    else:
        assert ProxyURL.parse(url.to_url()) == url


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
