"""One logical request: cookies, authentication, retries and redirects around single exchanges.

:class:`~sockit.client.HTTPClient` sends exactly one request per exchange
(``send``); this module decides whether another exchange follows and what
it carries:

1. the jar's ``Cookie`` header and the auth's headers are added;
2. a retryable failure (connect errors, resets before any byte of the
   answer, timeouts in ``connect``/``dns``; for idempotent methods also
   502/503/504 answers) is tried again after the policy's backoff, honouring
   ``Retry-After`` — only with a :class:`~sockit.net.retry.Retry` configured
   (retries are off by default) and a body that can be sent again;
3. each response's ``Set-Cookie`` goes into the jar;
4. a 401 (407 for proxy auth) is answered once more with the auth's reply
   to the challenge, at most ``max_auth_retries`` times;
5. a redirect is followed (see :mod:`sockit.client.redirects`) up to
   ``max_redirects`` hops; auth headers only go to the origin they were meant for.

The final response carries the earlier ones, closed, in ``history``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from sockit.client.body import RequestBody
from sockit.client.redirects import REDIRECT_STATUSES, TooManyRedirects, next_hop
from sockit.client.response import Response
from sockit.errors import SockitError
from sockit.net.retry import Retry, parse_retry_after
from sockit.proto.http import URL, Headers

__all__ = ["AuthFlow", "CookieStore", "FlowPolicy", "Send", "run"]

#: ``send(method, url, extra_headers, body) -> Response``: one exchange.
Send = Callable[[str, URL, list[tuple[str, str]], RequestBody | None], Response]


class CookieStore(Protocol):
    """What the flow needs of a cookie jar (:class:`sockit.client.cookies.CookieJar`)."""

    def extract(self, url: URL | str, headers: Headers) -> int:
        """Store the response's ``Set-Cookie`` fields."""
        ...

    def header_for(
        self,
        url: URL | str,
        *,
        top_level: bool = ...,
        method: str = ...,
        site: URL | str | None = ...,
    ) -> str | None:
        """The ``Cookie`` header value for ``url`` (``site``: where the chain started)."""
        ...


class AuthFlow(Protocol):
    """What the flow needs of an auth object (:mod:`sockit.client.auth`)."""

    proxy: bool

    def authorize(
        self, method: str, url: URL, body_hash: bytes | None = None
    ) -> list[tuple[str, str]]:
        """Headers for the first attempt."""
        ...

    def on_challenge(
        self, method: str, url: URL, status: int, headers: Headers
    ) -> list[tuple[str, str]] | None:
        """Headers for one more attempt after a 401/407, or ``None``."""
        ...


@dataclass
class FlowPolicy:
    """How one request is carried through (the client's settings, or one request's)."""

    cookies: CookieStore | None = None
    auth: AuthFlow | None = None
    follow_redirects: bool = True
    max_redirects: int = 10
    allow_downgrade: bool = False
    max_auth_retries: int = 2
    retry: Retry | None = None
    sleep: Callable[[float], None] = time.sleep
    sensitive_headers: frozenset[str] = field(default_factory=frozenset)


def _origin(url: URL) -> tuple[str | None, str | None, int | None]:
    return (url.scheme, url.host, url.effective_port)


def _retry_after(response: Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return parse_retry_after(value)
    except SockitError:
        return None


def _replayable(body: RequestBody | None) -> bool:
    return body is None or body.replayable


def _exchange(  # noqa: PLR0917 - private, one call site
    send: Send,
    policy: FlowPolicy,
    method: str,
    url: URL,
    headers: list[tuple[str, str]],
    body: RequestBody | None,
) -> Response:
    """One exchange, tried again per the retry policy."""
    retry = policy.retry
    if retry is None:
        return send(method, url, headers, body)
    attempt = 1
    attempts = retry.config.max_attempts
    while True:
        can_again = attempt < attempts and _replayable(body)
        try:
            response = send(method, url, headers, body)
        except SockitError as exc:
            idempotent = method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE")
            if not (can_again and retry.is_retryable(exc, idempotent=idempotent)):
                raise
            policy.sleep(retry.delay_for(attempt))
            attempt += 1
            continue
        if can_again and retry.should_retry_status(method, response.status_code):
            delay = retry.delay_for(attempt, _retry_after(response))
            response.close()
            policy.sleep(delay)
            attempt += 1
            continue
        return response


def run(  # noqa: PLR0917 - the request's parts, in the order they are read
    send: Send,
    policy: FlowPolicy,
    method: str,
    url: URL,
    headers: Iterable[tuple[str, str]],
    body: RequestBody | None,
) -> Response:
    """Carry one request through cookies, auth, retries and redirects (module docstring)."""
    own = list(headers)
    start = url
    history: list[Response] = []
    auth = policy.auth
    auth_origin = _origin(url)
    challenge: list[tuple[str, str]] = []
    auth_tries = 0
    while True:
        extra = list(own)
        if policy.cookies is not None and not any(n.lower() == "cookie" for n, _ in own):
            # SameSite is judged against where a redirect chain started
            cookie = policy.cookies.header_for(url, method=method, site=start if history else None)
            if cookie:
                extra.append(("Cookie", cookie))
        use_auth = auth is not None and (auth.proxy or _origin(url) == auth_origin)
        if use_auth and auth is not None:
            extra += challenge or auth.authorize(method, url)
        response = _exchange(send, policy, method, url, extra, body)
        if policy.cookies is not None:
            policy.cookies.extract(url, response.headers)
        status = response.status_code
        wanted = 407 if auth is not None and auth.proxy else 401
        if use_auth and auth is not None and status == wanted and _replayable(body):
            answer = None
            if auth_tries < policy.max_auth_retries:
                answer = auth.on_challenge(method, url, status, response.headers)
            if answer:
                auth_tries += 1
                challenge = answer
                response.close()
                continue
        location = response.headers.get("location")
        if policy.follow_redirects and status in REDIRECT_STATUSES and location is not None:
            step = next_hop(status, location, url, method, own,
                            allow_downgrade=policy.allow_downgrade,
                            sensitive=policy.sensitive_headers)
            if step.keep_body and not _replayable(body):
                break  # the body cannot be sent again: the redirect is the answer
            if len(history) >= policy.max_redirects:
                response.close()
                raise TooManyRedirects(
                    f"more than {policy.max_redirects} redirects (last to {step.url})",
                    limit="max_redirects",
                    value=policy.max_redirects,
                )
            response.close()
            history.append(response)
            url, method, own = step.url, step.method, step.headers
            body = body if step.keep_body else None
            challenge = []
            continue
        break
    response.history = history
    return response
