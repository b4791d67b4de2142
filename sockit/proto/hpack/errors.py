"""The ways an HPACK header block is refused, and what each means for HTTP/2.

Two different situations, told apart by type:

* :class:`HPACKError` (and its limit flavour :class:`HPACKLimitExceeded`):
  the block is malformed or blew the decoded-size guard. Decoding stopped
  in the middle, so the decoder's dynamic table may no longer match the
  peer's encoder. The only safe answer is to end the connection: HTTP/2
  sends GOAWAY with ``COMPRESSION_ERROR`` (``error_code`` 9, RFC 9113
  §4.3). The decoder must not be used again.
* :class:`HeaderListTooLarge`: the block was well formed and was decoded to
  the end, so the dynamic table is still in step with the peer, but the
  header list breaks a policy bound (the list size, the field count or one
  field's size). The connection can carry on; only this stream is refused
  (a server answers 431 or resets the stream, RFC 9113 §10.5.1). It is *not*
  an :class:`HPACKError` and has no ``error_code``: the HTTP/2 layer picks
  the stream-level answer.
"""

from __future__ import annotations

from sockit.errors import LimitExceeded, RemoteProtocolError

__all__ = ["COMPRESSION_ERROR", "HPACKError", "HPACKLimitExceeded", "HeaderListTooLarge"]

#: The HTTP/2 error code for a broken compression context (RFC 9113 §7).
COMPRESSION_ERROR = 0x9


class HPACKError(RemoteProtocolError):
    """A header block that cannot be decoded; the compression context is lost.

    ``error_code`` is ``COMPRESSION_ERROR`` (9): close the connection.
    """

    def __init__(
        self,
        message: str,
        *,
        error_code: int | None = COMPRESSION_ERROR,
        http_status: int | None = 400,
    ) -> None:
        super().__init__(message, error_code=error_code, http_status=http_status)


class HPACKLimitExceeded(LimitExceeded, HPACKError):
    """A decoder bound whose breach leaves the table unusable was hit.

    Raised for the decoded-size (bomb) guard and for too many table size
    updates in one block. It is both a :class:`~sockit.errors.LimitExceeded`
    (``limit`` names the :class:`~sockit.limits.HPACKLimits` field,
    ``value`` the bound) and an :class:`HPACKError` (``error_code`` 9).
    """

    def __init__(self, message: str, *, limit: str, value: int | float) -> None:
        super().__init__(
            message, limit=limit, value=value, error_code=COMPRESSION_ERROR, http_status=431
        )


class HeaderListTooLarge(LimitExceeded):
    """The decoded header list breaks a size or count bound; the table is intact.

    ``limit`` is ``"max_header_list_size"``, ``"max_headers"`` or
    ``"max_header_size"``; ``http_status`` is 431. The whole block was
    decoded before this was raised, so the decoder stays usable and the
    HTTP/2 connection can refuse just this stream.
    """

    def __init__(self, message: str, *, limit: str, value: int | float) -> None:
        super().__init__(message, limit=limit, value=value, error_code=None, http_status=431)
