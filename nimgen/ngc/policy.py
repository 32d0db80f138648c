"""Where nimgen may send the key, and whom it trusts on the way.

* The API URL is an origin: a path, query or fragment would send every request astray
  (read as "NGC rejected the API key"); credentials and bad ports are refused too.
* Plain ``http://`` only to loopback hosts, for the API and a proxy alike: the key and the
  proxy's credentials never cross a network unencrypted.
* TLS is always verified: ``$SSL_CERT_FILE`` / ``$SSL_CERT_DIR`` when set, else certifi's
  bundle; ``--ca-bundle`` adds its CAs to certifi's.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from nimgen.apikey import redact
from nimgen.errors import BadInput
from nimgen.eu.proxy import ProxyUrl, check_proxy_url

if TYPE_CHECKING:
    from nimgen.ngc.settings import ClientSettings

# A CA bundle is a few hundred KiB (certifi's is 0.3 MiB); anything past this is not one.
CA_BUNDLE_MAX_BYTES = 16 * 1024 * 1024


def is_loopback_host(host: str) -> bool:
    """``localhost`` and loopback IP literals only: ``127.0.0.1.example.com`` resolves
    wherever DNS says."""
    host = host.strip("[]").lower()
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_api_url(url: str) -> str:
    """``url`` without a trailing slash; an origin only, plain http only to loopback hosts."""
    option = "--ngc-api-url"
    credentials = f"{option} must not carry credentials (user:password@)"
    try:
        parts = urlsplit(url)
        if parts.port == 0:  # raises ValueError for a port out of range or not a number
            raise ValueError("port 0")
    except ValueError:
        if "@" in url:
            raise BadInput(credentials) from None
        raise BadInput(f"{option} {url!r} is not a valid URL (check the port)") from None
    if "@" in parts.netloc:
        raise BadInput(credentials)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput(f"{option} {url!r} is not an http(s) URL")
    if parts.path not in ("", "/") or parts.query or parts.fragment or url.endswith(("?", "#")):
        raise BadInput(
            f"{option} {url!r} has a path, query or fragment; give only "
            "scheme://host[:port] (nimgen adds the NGC paths itself)"
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise BadInput(
            f"{option} {url!r} uses plain http to a non-loopback host; "
            "the key would travel unencrypted: use https"
        )
    return url.rstrip("/")


def check_proxy_option(url: str) -> ProxyUrl:
    """``--proxy``: a proxy URL as ``nimgen.eu.proxy`` checks it (its credentials registered
    as secrets), plain ``http://`` only to a loopback proxy."""
    proxy = check_proxy_url(url, "--proxy")
    parts = urlsplit(proxy.url)
    if parts.scheme == "http" and not is_loopback_host(parts.hostname or ""):
        shown = f"http://{parts.netloc.rpartition('@')[2]}"
        raise BadInput(
            f"--proxy {shown!r} uses plain http to a non-loopback host; the key and the proxy "
            "credentials would travel unencrypted: use an https:// proxy"
        )
    return proxy


def tls_context(ca_bundle: Path | None = None) -> ssl.SSLContext:
    """A verifying TLS context trusting what httpx would have trusted from the environment,
    or certifi plus ``ca_bundle``'s CAs (``BadInput`` if it is no readable PEM bundle)."""
    import certifi

    if ca_bundle is None:
        if os.environ.get("SSL_CERT_FILE"):
            return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
        if os.environ.get("SSL_CERT_DIR"):
            return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
        return ssl.create_default_context(cafile=certifi.where())
    from nimgen.files import UnreadableFile, read_regular_file

    context = ssl.create_default_context(cafile=certifi.where())
    try:  # read by nimgen, not OpenSSL: a FIFO or a device is refused, never waited on
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


def tls_for(settings: ClientSettings, eu_proxy: str | None = None) -> ssl.SSLContext:
    """The one TLS context of a client's connections and proxy, shared with the EU vantage's
    client (through ``eu_proxy``) when given. Without https anywhere (plain http to
    loopback) it trusts no CA, which saves loading certifi's bundle."""
    proxies = (settings.proxy or "", eu_proxy or "")
    uses_tls = settings.api_url.startswith("https:") or any(
        proxy.startswith("https:") for proxy in proxies
    )
    if uses_tls or settings.ca_bundle is not None:
        return tls_context(settings.ca_bundle)
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def tls_failure(exc: BaseException) -> str | None:
    """The certificate problem behind ``exc``, if a failed TLS verification caused it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return redact(current.verify_message or "certificate verify failed")
        current = current.__cause__ or current.__context__
    return "certificate verify failed" if "CERTIFICATE_VERIFY_FAILED" in str(exc) else None
