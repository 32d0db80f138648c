"""A proxy URL given on the command line (``--eu-proxy``, ``--proxy``): its ``user:password@``
is registered as a secret before anything can print it, and messages name the proxy only
redacted (``http://***@host:port``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from nimgen.apikey import register_secret
from nimgen.errors import BadInput

# Characters a userinfo part keeps as they are: RFC 3986 unreserved and sub-delims, and
# '%' (an escape the user already wrote). Everything else - '#', '/', '?', '@', ':' in a
# password, spaces - is percent-encoded, so the URL httpx parses is the one the user meant.
_USERINFO_SAFE = "!$&'()*+,;=-._~%"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class ProxyUrl:
    """A checked proxy: ``url`` (with any credentials) goes to httpx only; print ``redacted``."""

    url: str = field(repr=False)
    redacted: str


def _encoded(part: str) -> str:
    return quote(_BAD_ESCAPE.sub("%25", part), safe=_USERINFO_SAFE)


def check_proxy_url(url: str, option: str = "--eu-proxy") -> ProxyUrl:
    """The checked URL, its credentials registered as secrets. The userinfo is split off at
    the last ``@`` first, so a password holding ``#``, ``/`` or ``?`` is not mis-parsed."""
    text = url.strip()
    scheme, separator, rest = text.partition("://")
    if separator != "://" or scheme.lower() not in ("http", "https"):
        # Do not echo a malformed URL: it may hold a password where we cannot find it.
        raise BadInput(f"{option} is not an http:// or https:// proxy URL")
    scheme = scheme.lower()
    userinfo, at, hostpart = rest.rpartition("@")
    if at:
        user, _, password = userinfo.partition(":")
        for secret in (userinfo, password):
            if secret:
                register_secret(secret)
                register_secret(unquote(secret))
    redacted_prefix = f"{scheme}://{'***@' if at else ''}"
    try:
        parts = urlsplit(f"{scheme}://{hostpart}")
        port = parts.port
    except ValueError:
        shown = hostpart.partition("/")[0]
        raise BadInput(
            f"{option} {redacted_prefix}{shown}: the port is not a number from 1 to 65535"
        ) from None
    redacted = f"{redacted_prefix}{parts.netloc}"
    if not parts.hostname:
        raise BadInput(f"{option} {redacted} names no host")
    if port == 0:
        raise BadInput(f"{option} {redacted}: the port is not a number from 1 to 65535")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BadInput(f"{option} {redacted}: a proxy URL has no path, query or fragment")
    credentials = ""
    if at:
        encoded_password = _encoded(password)
        credentials = _encoded(user) + (f":{encoded_password}" if ":" in userinfo else "") + "@"
        register_secret(credentials[:-1])
        if encoded_password:  # as httpx is given it, in its own error messages
            register_secret(encoded_password)
    return ProxyUrl(url=f"{scheme}://{credentials}{parts.netloc}", redacted=redacted)
