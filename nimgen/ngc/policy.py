"""Where nimgen may send the key, and whom it trusts on the way: URL, proxy and TLS policy.

* The NGC API URL is an origin, nothing more: ``http(s)://host[:port]``. A path, query
  or fragment would silently send every request to the wrong place (and read as "NGC
  rejected the API key"), so they are refused, as are credentials and bad ports.
* Plain ``http://`` only to loopback hosts, for the API and for a proxy alike: the key
  (or proxy credentials) must never cross a network unencrypted.
* TLS is always verified. The trusted CAs are ``$SSL_CERT_FILE`` / ``$SSL_CERT_DIR`` when
  set, else certifi's bundle; ``--ca-bundle`` adds its CAs to certifi's.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from nimgen.apikey import redact
from nimgen.errors import BadInput

if TYPE_CHECKING:
    import ssl

    from nimgen.ngc.client import ClientSettings

DEFAULT_API_URL = "https://api.ngc.nvidia.com"


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (127.0.0.0/8, ::1), nothing else.

    A name such as ``127.0.0.1.example.com`` is not loopback: it resolves wherever DNS says.
    """
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split_origin(url: str, option: str) -> SplitResult:
    """``url`` split, refusing what is not an http(s) origin; messages never echo credentials."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        has_credentials = "@" in parts.netloc
        if parts.port == 0:  # raises ValueError for a port out of range or not a number
            raise ValueError("port 0")
    except ValueError:
        if "@" in url:
            raise BadInput(f"{option} must not carry credentials (user:password@)") from None
        raise BadInput(f"{option} {url!r} is not a valid URL (check the port)") from None
    if has_credentials:
        raise BadInput(f"{option} must not carry credentials (user:password@)")
    if parts.scheme not in ("http", "https") or not host:
        raise BadInput(f"{option} {url!r} is not an http(s) URL")
    return parts


def check_api_url(url: str) -> str:
    """``url`` without a trailing slash; an origin only, plain http only to loopback hosts."""
    parts = _split_origin(url, "--ngc-api-url")
    if parts.path not in ("", "/") or parts.query or parts.fragment or url.endswith(("?", "#")):
        raise BadInput(
            f"--ngc-api-url {url!r} has a path, query or fragment; give only "
            "scheme://host[:port] (nimgen adds the NGC paths itself)"
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname or ""):
        raise BadInput(
            f"--ngc-api-url {url!r} uses plain http to a non-loopback host; "
            "the key would travel unencrypted: use https"
        )
    return url.rstrip("/")


def check_proxy_url(url: str, option: str = "--proxy") -> str:
    """A proxy for the NGC requests: ``https://`` anywhere, plain ``http://`` only on loopback.

    Credentials (``user:password@``) are allowed: they are for the proxy, and are redacted
    from every message.
    """
    from nimgen.apikey import register_secret

    try:
        parts = urlsplit(url)
        host = parts.hostname
        password = parts.password
        if parts.port == 0:  # raises ValueError for a port out of range or not a number
            raise ValueError("port 0")
    except ValueError:
        raise BadInput(f"{option} is not a valid URL (check the port)") from None
    if password:
        register_secret(password)
    shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    if parts.scheme not in ("http", "https") or not host:
        raise BadInput(f"{option} {shown!r} is not an http(s) URL")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BadInput(f"{option} {shown!r} has a path, query or fragment; give scheme://host:port")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise BadInput(
            f"{option} {shown!r} uses plain http to a non-loopback host; the key and the "
            "proxy credentials would travel unencrypted: use an https:// proxy"
        )
    return url.rstrip("/")


# A CA bundle is a few hundred KiB (certifi's is 0.3 MiB); anything past this is not one.
CA_BUNDLE_MAX_BYTES = 16 * 1024 * 1024


def tls_context(ca_bundle: Path | None = None) -> ssl.SSLContext:
    """A verifying TLS context: hostname checks and CERT_REQUIRED, always.

    Without ``ca_bundle`` it trusts what httpx would have trusted from the environment
    (``$SSL_CERT_FILE``, else ``$SSL_CERT_DIR``, else certifi), although nimgen's client
    ignores the environment otherwise; with it, certifi plus the bundle's CAs.
    Raises ``BadInput`` when the bundle cannot be read or holds no certificate.
    """
    import ssl

    import certifi

    if ca_bundle is None:
        if os.environ.get("SSL_CERT_FILE"):
            return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
        if os.environ.get("SSL_CERT_DIR"):
            return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
        return ssl.create_default_context(cafile=certifi.where())
    from nimgen.files import UnreadableFile, read_regular_file

    context = ssl.create_default_context(cafile=certifi.where())
    try:
        # Read by nimgen, not OpenSSL: a FIFO or a device is refused, never waited on,
        # and the size is bounded.
        raw = read_regular_file(ca_bundle, max_bytes=CA_BUNDLE_MAX_BYTES)
        context.load_verify_locations(cadata=raw.decode("ascii"))
    except UnreadableFile as exc:
        reason = exc.reason
    except UnicodeDecodeError:
        reason = "not ASCII text"
    except ValueError:  # an empty file
        reason = "no certificate found"
    except ssl.SSLError as exc:
        no_certificate = "does not contain a certificate" in str(exc)
        reason = "no certificate found" if no_certificate else str(exc.reason or exc)
    else:
        return context
    raise BadInput(
        f"--ca-bundle {ca_bundle} is not a readable PEM file of CA certificates ({reason})"
    )


def tls_for(settings: ClientSettings, proxy: str | None) -> ssl.SSLContext:
    """The one TLS context of every connection and proxy, its CAs loaded once for the run.

    With no https anywhere (plain http to loopback) it trusts no CA at all, which saves
    loading certifi's bundle at start-up: it still verifies, so any TLS would fail.
    """
    import ssl

    uses_tls = settings.api_url.startswith("https:") or (proxy or "").startswith("https:")
    if uses_tls or settings.ca_bundle is not None:
        return tls_context(settings.ca_bundle)
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def tls_failure(exc: BaseException) -> str | None:
    """The certificate problem behind ``exc``, if a failed TLS verification caused it."""
    import ssl

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return redact(current.verify_message or "certificate verify failed")
        if isinstance(current, ssl.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(current):
            return "certificate verify failed"
        current = current.__cause__ or current.__context__
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return "certificate verify failed"
    return None
