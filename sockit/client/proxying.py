"""Which proxy, if any, a client connection to an origin goes through.

An explicit proxy wins; otherwise, with ``trust_env``, the environment
variables curl reads (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``,
``NO_PROXY``, lower case first; ``HTTP_PROXY`` ignored in CGI programs) are
read once per origin and remembered, so a hot path never re-parses them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

from sockit.proto.http.url import Origin
from sockit.proto.proxy_url import ProxyURL, proxy_from_environment

__all__ = ["ProxyChooser"]

_MAX_REMEMBERED = 1024


class ProxyChooser:
    """Picks the proxy for each origin: the explicit one, or the environment's."""

    def __init__(
        self,
        proxy: str | ProxyURL | None = None,
        *,
        trust_env: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.proxy = ProxyURL.parse(proxy) if isinstance(proxy, str) else proxy
        self.trust_env = trust_env
        self._environ = os.environ if environ is None else environ
        self._seen: dict[Origin, ProxyURL | None] = {}
        self._lock = threading.Lock()

    def for_origin(self, origin: Origin) -> ProxyURL | None:
        """The proxy for ``origin`` (``None``: connect directly)."""
        if self.proxy is not None:
            return self.proxy
        scheme, host, port = origin
        if not self.trust_env or port is None or scheme.endswith("+unix"):
            return None
        with self._lock:
            if origin in self._seen:
                return self._seen[origin]
        chosen = proxy_from_environment(scheme, host, port, self._environ)
        with self._lock:
            if len(self._seen) >= _MAX_REMEMBERED:
                self._seen.clear()
            self._seen[origin] = chosen
        return chosen
