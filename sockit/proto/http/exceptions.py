"""Exceptions raised while interpreting HTTP field values and URLs.

They all inherit from :class:`sockit.errors.RemoteProtocolError`: the text they
complain about normally came from the peer, so a server answers 400 (or the
``http_status`` carried here) and a client refuses the response. Code that
parses text supplied by its own caller can catch them and re-raise as
:class:`sockit.errors.LocalProtocolError` if it wants to blame the caller.
"""

from __future__ import annotations

from sockit.errors import RemoteProtocolError

__all__ = ["InvalidDate", "InvalidHeader", "InvalidURL"]


class InvalidHeader(RemoteProtocolError):
    """A field value does not match the grammar of its field."""


class InvalidDate(InvalidHeader):
    """A field value is not an HTTP-date (RFC 9110 §5.6.7)."""


class InvalidURL(RemoteProtocolError):
    """A URI reference or request-target breaks RFC 3986 / RFC 9112 syntax."""
