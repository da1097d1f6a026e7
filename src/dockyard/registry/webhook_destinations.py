"""Where webhooks may POST: public addresses only, unless the operator allows a host (SSRF protection).

A webhook URL is checked twice:

- when it is created or changed (:func:`check_url`), for what the URL itself says: ``http`` or ``https``,
  no ``user:password@``, no IPv4 address in a non-standard form (``0x7f000001``, ``2130706433``,
  ``0177.0.0.1``, ``127.1``: resolvers disagree about them), and no literal non-public address
  (``127.0.0.1``, ``[::1]``, ``10.0.0.5``, ``169.254.169.254``...) or ``localhost`` name;
- when a delivery is sent (:class:`PinnedSender`): the host is resolved, **every** address it resolves to
  must be public, and the connection goes to a checked address (the ``Host`` header and the TLS server
  name stay the URL's host). A name that resolves to a public address at creation and to a private one
  later (DNS rebinding) is refused at send time, and no second lookup happens between check and connect.

Non-public means loopback, private (RFC 1918, ``fc00::/7``), link-local (``169.254.0.0/16``, where cloud
metadata services answer, and ``fe80::/10``), multicast, reserved, unspecified, the shared address space
``100.64.0.0/10``, and IPv6 forms that carry such an IPv4 address (``::ffff:127.0.0.1``, NAT64, 6to4).

``DOCKYARD_WEBHOOK_ALLOWED_HOSTS`` (:class:`AllowedHosts`) lists host names, addresses or networks that
may be reached anyway: a listed name skips the address checks; a listed address or network allows
that address, whatever name resolved to it.

Redirects are never followed (``http.client`` does not follow them): a 3xx answer is a failed delivery.

>>> refusal(ipaddress.ip_address("169.254.169.254"))
'link-local'
>>> refusal(ipaddress.ip_address("::ffff:10.0.0.1"))
'private'
>>> refusal(ipaddress.ip_address("8.8.8.8")) is None
True
>>> check_url("http://0x7f000001/hook", AllowedHosts())  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
dockyard.core.errors.InvalidParameter: webhook url: host '0x7f000001' is an IPv4 address in a non-standard form...
>>> check_url("http://127.0.0.1:8080/hook", AllowedHosts.parse(["127.0.0.1"]))
'http://127.0.0.1:8080/hook'
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dockyard.core.errors import InvalidParameter

if TYPE_CHECKING:
    import ssl

log = logging.getLogger(__name__)

ALLOWED_HOSTS_SETTING = "DOCKYARD_WEBHOOK_ALLOWED_HOSTS"
MAX_URL_LENGTH = 4000

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# socket.getaddrinfo's signature: (host, port, family, type, ...) -> [(family, type, proto, canonname, sockaddr)]
Resolver = Callable[..., Sequence[tuple[Any, Any, Any, Any, Any]]]

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598): not global, not "private"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # carries an IPv4 address in its last 32 bits (RFC 6052)
# Special-purpose blocks Python's flags miss or place inconsistently across versions.
_ALSO_REFUSED: tuple[tuple[Network, str], ...] = (
    (ipaddress.ip_network("0.0.0.0/8"), "'this network'"),
    (ipaddress.ip_network("192.0.0.0/24"), "IETF protocol assignment"),
    (ipaddress.ip_network("198.18.0.0/15"), "benchmarking"),
    (ipaddress.ip_network("64:ff9b:1::/48"), "local-use NAT64"),
    (ipaddress.ip_network("100::/64"), "discard-only"),
)
_INET_ATON = re.compile(r"[0-9a-fA-FxX.]+")  # the characters of the numeric forms inet_aton accepts


class DestinationRefused(Exception):
    """A webhook URL names, or resolves to, an address webhooks may not reach (never retried)."""


def refusal(address: Address) -> str | None:
    """Why webhooks may not POST to ``address`` (``'loopback'``, ``'private'``...); None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d on a dual-stack socket
            return refusal(address.ipv4_mapped)
        if address in _NAT64:  # a NAT64 gateway forwards to the embedded IPv4 address
            return refusal(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None and refusal(address.sixtofour) is not None:
            return "6to4 of a non-public IPv4 address"
        if address.teredo is not None:
            return "Teredo"
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address in _SHARED, "shared address space"),
    )
    for matched, reason in checks:
        if matched:
            return reason
    for network, name in _ALSO_REFUSED:
        if address in network:
            return name
    if address.is_private:
        return "private"
    if address.is_reserved:
        return "reserved"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "site-local"
    if not address.is_global:
        return "non-global"
    return None


def _normalize_host(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host[:-1] if host.endswith(".") else host


def literal_address(host: str) -> Address | None:
    """The address ``host`` spells, in any form a resolver accepts (``0x7f000001`` too); None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _INET_ATON.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


@dataclass(frozen=True)
class AllowedHosts:
    """The hosts webhooks may reach although they are not public (``DOCKYARD_WEBHOOK_ALLOWED_HOSTS``).

    >>> allowed = AllowedHosts.parse(["Hooks.Internal.", "10.0.0.0/8", "[::1]"])
    >>> allowed.allows_name("hooks.internal"), allowed.allows_address(ipaddress.ip_address("10.1.2.3"))
    (True, True)
    >>> allowed.allows_address(ipaddress.ip_address("::1")), allowed.allows_address(ipaddress.ip_address("::2"))
    (True, False)
    """

    names: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowedHosts:
        """Host names, IP addresses (``127.0.0.1``, ``::1``, ``[::1]``) and networks (``10.0.0.0/8``)."""
        names: set[str] = set()
        networks: list[Network] = []
        for raw in entries:
            entry = _normalize_host(raw)
            if not entry:
                continue
            try:
                if "/" in entry:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                    continue
                networks.append(ipaddress.ip_network(ipaddress.ip_address(entry)))
            except ValueError:
                if "/" in entry or ":" in entry or any(c.isspace() for c in entry):
                    raise InvalidParameter(
                        f"{ALLOWED_HOSTS_SETTING}: {raw.strip()!r} is not a host name, an IP address or a network"
                    ) from None
                names.add(entry)
        return cls(frozenset(names), tuple(networks))

    def allows_name(self, host: str) -> bool:
        return _normalize_host(host) in self.names

    def allows_address(self, address: Address) -> bool:
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        if mapped is not None and self.allows_address(mapped):
            return True
        return any(address.version == n.version and address in n for n in self.networks)


@dataclass(frozen=True)
class _Parts:
    scheme: str
    host: str  # normalized: lower case, no brackets, no trailing dot
    port: int
    target: str  # path and query, what the request line carries


def _problem(host: str, allowed: AllowedHosts) -> str | None:
    """What the host itself says against it (before any DNS lookup); None when it may be tried."""
    address = literal_address(host)
    if isinstance(address, ipaddress.IPv4Address) and str(address) != host:
        return f"host {host!r} is an IPv4 address in a non-standard form; write it as {address}"
    if allowed.allows_name(host):
        return None
    if address is not None:
        reason = refusal(address)
        if reason is not None and not allowed.allows_address(address):
            return f"host {host} is not a public address ({reason}); {_ALLOW_HINT}"
    elif host == "localhost" or host.endswith(".localhost"):
        return f"host {host!r} is a loopback name; {_ALLOW_HINT}"
    return None


_ALLOW_HINT = f"webhooks go to public addresses only, unless the host is listed in {ALLOWED_HOSTS_SETTING}"


def _split(url: str) -> tuple[_Parts | None, str | None]:
    from urllib.parse import urlsplit

    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return None, "must not contain spaces or control characters"
    try:
        parsed = urlsplit(url)
        port = parsed.port
    except ValueError as exc:
        return None, f"is not a valid URL ({exc})"
    if parsed.scheme not in ("http", "https"):
        return None, "must be an http:// or https:// URL"
    if "@" in parsed.netloc:
        return None, "must not contain credentials (user:password@); sign deliveries with a secret instead"
    if not parsed.hostname:
        return None, "must name a host"
    target = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
    default = 443 if parsed.scheme == "https" else 80
    return _Parts(parsed.scheme, _normalize_host(parsed.hostname), port or default, target), None


def check_url(url: Any, allowed: AllowedHosts, field: str = "url") -> str:
    """What a webhook URL says for itself, at create and update time (DNS is checked at send time)."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidParameter(f"Missing value for required parameter '{field}'")
    text = url.strip()
    if len(text) > MAX_URL_LENGTH:
        raise InvalidParameter(f"webhook {field} is {len(text)} characters; the limit is {MAX_URL_LENGTH}")
    parts, error = _split(text)
    if parts is None:  # never echo the URL: it may hold a password
        raise InvalidParameter(f"webhook {field} {error}")
    problem = _problem(parts.host, allowed)
    if problem is not None:
        raise InvalidParameter(f"webhook {field}: {problem}")
    return text


@dataclass(frozen=True)
class Destination:
    """A webhook URL resolved and checked: connect to one of ``addresses``, say ``host`` in ``Host``."""

    scheme: str
    host: str
    port: int
    target: str
    addresses: tuple[tuple[int, tuple[Any, ...]], ...]  # (socket family, sockaddr)


def resolve(url: str, allowed: AllowedHosts, resolver: Resolver = socket.getaddrinfo) -> Destination:
    """Resolve ``url``'s host and check every address; raises :class:`DestinationRefused` for a non-public
    one (not listed in ``allowed``) and ``OSError`` when the name does not resolve."""
    parts, error = _split(url)
    if parts is None:
        raise DestinationRefused(f"webhook url {error}")
    problem = _problem(parts.host, allowed)
    if problem is not None:
        raise DestinationRefused(problem)
    trusted = allowed.allows_name(parts.host)
    found: list[tuple[int, tuple[Any, ...]]] = []
    for family, _type, _proto, _canonical, sockaddr in resolver(
        parts.host, parts.port, 0, socket.SOCK_STREAM, socket.IPPROTO_TCP
    ):
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(sockaddr[0])
        reason = None if trusted or allowed.allows_address(address) else refusal(address)
        if reason is not None:  # one bad address refuses the lot: the resolver's order is not ours to trust
            # The address goes to the log, not to the delivery record: whoever manages webhooks would
            # otherwise learn the internal addresses of internal names.
            log.warning("webhooks: refused %s: it resolves to %s (%s)", parts.host, address, reason)
            raise DestinationRefused(f"host {parts.host} resolves to a non-public address ({reason}); {_ALLOW_HINT}")
        found.append((family, tuple(sockaddr)))
    if not found:
        raise OSError(f"host {parts.host} has no IPv4 or IPv6 address")
    return Destination(parts.scheme, parts.host, parts.port, parts.target, tuple(found))


class PinnedSender:
    """POST a webhook delivery to a checked address: resolve, refuse non-public addresses, connect to the
    address checked (``Host`` header and TLS server name: the URL's host), never follow a redirect.

    Returns the HTTP status; the response body is never read. Raises :class:`DestinationRefused` for a
    refused destination and ``OSError`` when there is no answer (refused, unreachable, timed out, TLS,
    a malformed answer). Proxy environment variables are not used: a proxy would do its own lookup.
    """

    def __init__(
        self, allowed: AllowedHosts, *, resolver: Resolver = socket.getaddrinfo, tls: ssl.SSLContext | None = None
    ) -> None:
        """``resolver``: ``socket.getaddrinfo``'s signature; ``tls``: the context for https (default: the
        system's certificate authorities, hostname checked)."""
        self.allowed = allowed
        self.resolver = resolver
        self._tls = tls
        self._lock = threading.Lock()

    def _tls_context(self) -> ssl.SSLContext:
        import ssl

        with self._lock:
            if self._tls is None:
                self._tls = ssl.create_default_context()  # verifies the certificate against the URL's host
            return self._tls

    def _connect(self, destination: Destination, timeout: float) -> socket.socket:
        last: OSError | None = None
        for family, sockaddr in destination.addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(sockaddr)
            except OSError as exc:
                sock.close()
                last = exc
                continue
            if destination.scheme != "https":
                return sock
            try:
                return self._tls_context().wrap_socket(sock, server_hostname=destination.host)
            except OSError:
                sock.close()
                raise
        raise last if last is not None else OSError(f"cannot connect to {destination.host}")

    def __call__(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        import http.client

        destination = resolve(url, self.allowed, self.resolver)
        connection: http.client.HTTPConnection
        if destination.scheme == "https":  # for its default port 443 in the Host header; it never connects
            connection = http.client.HTTPSConnection(
                destination.host, destination.port, timeout=timeout, context=self._tls_context()
            )
        else:
            connection = http.client.HTTPConnection(destination.host, destination.port, timeout=timeout)
        connection.sock = self._connect(destination, timeout)  # set: http.client will not connect (or look up) again
        try:
            connection.request("POST", destination.target, body=body, headers=headers)
            return int(connection.getresponse().status)
        except http.client.HTTPException as exc:  # a malformed answer counts as no answer
            raise OSError(f"bad HTTP answer: {type(exc).__name__}: {exc}") from None
        finally:
            connection.close()
