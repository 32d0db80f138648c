"""The NGC API key: where it comes from, and how it is kept out of every output.

The key is read from ``NGC_API_KEY`` or ``--api-key-file``, never from an
argument value (which would land in shell history and process listings). It
lives in an ``ApiKey`` whose ``str`` and ``repr`` are masked, and every line
nimgen prints goes through ``redact``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from nimgen.errors import BadInput

PERSONAL_KEY_PREFIX = "nvapi-"
ENV_VAR = "NGC_API_KEY"

# Every secret seen in this process, longest first, so redact() can scrub them.
_SECRETS: list[str] = []


def register_secret(secret: str) -> None:
    """Scrub ``secret`` from everything printed, also in its URL-encoded forms
    (as it appears in a proxy URL's user:password or a form body)."""
    from urllib.parse import quote, quote_plus

    for form in (secret, quote(secret, safe=""), quote_plus(secret, safe="")):
        if form and form not in _SECRETS:
            _SECRETS.append(form)
    _SECRETS.sort(key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return text


class ApiKey:
    """A personal NGC key. Printing it prints ``ApiKey(***)``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        """The key itself, for the one place that sends it: the HTTP headers."""
        return self._value

    def __repr__(self) -> str:
        return "ApiKey(***)"

    __str__ = __repr__

    def __reduce__(self) -> str:
        # Never serialised (pickled into a cache, a multiprocessing queue, a crash dump).
        raise TypeError("an ApiKey cannot be pickled")


def check_personal(value: str, origin: str) -> ApiKey:
    value = value.strip()
    if not value:
        raise BadInput(f"the NGC API key from {origin} is empty")
    register_secret(value)
    if not value.startswith(PERSONAL_KEY_PREFIX):
        raise BadInput(
            f"the key from {origin} is not a personal key: nimgen supports only personal "
            f"keys (they start with {PERSONAL_KEY_PREFIX!r}); legacy org keys are not supported "
            "by NGC's per-model API that nimgen uses, so create a personal key in NGC instead"
        )
    if any(c.isspace() for c in value) or not value.isprintable():
        raise BadInput(f"the key from {origin} contains whitespace or control characters")
    return ApiKey(value)


def load_api_key(
    key_file: Path | None, *, warn: list[str] | None = None, required: bool = True
) -> ApiKey | None:
    """The key from ``key_file`` if given, else from ``$NGC_API_KEY``.

    Appends a warning to ``warn`` when the key file is readable by other users.
    """
    if key_file is not None:
        try:
            mode = key_file.stat().st_mode
            text = key_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
            raise BadInput(f"cannot read the API key file {key_file}: {reason}") from None
        if warn is not None and mode & (stat.S_IRGRP | stat.S_IROTH):
            warn.append(
                f"the API key file {key_file} is readable by other users; "
                f"restrict it with: chmod 600 {key_file}"
            )
        return check_personal(text, str(key_file))
    env_value = os.environ.get(ENV_VAR)
    if env_value is None or not env_value.strip():
        if not required:
            return None
        raise BadInput(
            f"no NGC API key: set {ENV_VAR} or pass --api-key-file PATH "
            "(to work offline on the built-in sample, use: nimgen render)"
        )
    return check_personal(env_value, ENV_VAR)
