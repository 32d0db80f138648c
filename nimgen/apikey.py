"""The NGC API key: read from ``NGC_API_KEY`` or ``--api-key-file``, never an argument (shell
history, process listings); held in a masked ``ApiKey``; every printed line goes through
``redact``.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from nimgen.errors import BadInput

PERSONAL_KEY_PREFIX = "nvapi-"
ENV_VAR = "NGC_API_KEY"
# Any run of at least this many characters of a secret is scrubbed, whatever its
# case: an error body may echo the key upper-cased, lower-cased or cut short.
LEAK_MIN_CHARS = 12

# Every secret seen in this process, longest first, so redact() can scrub them.
_SECRETS: list[str] = []
# Every LEAK_MIN_CHARS-long piece of every secret, lower-cased.
_PIECES: set[str] = set()
# Runs of the characters secrets are made of: a leaked piece lies inside one.
_RUNS: re.Pattern[str] | None = None


def register_secret(secret: str) -> None:
    """Scrub ``secret`` from everything printed: also URL-encoded (a proxy URL, a form body),
    and any piece of ``LEAK_MIN_CHARS`` characters or more, in any case."""
    global _RUNS
    from urllib.parse import quote, quote_plus

    for form in (secret, quote(secret, safe=""), quote_plus(secret, safe="")):
        if form and form not in _SECRETS:
            _SECRETS.append(form)
            lowered = form.lower()
            _PIECES.update(
                lowered[i : i + LEAK_MIN_CHARS] for i in range(len(lowered) - LEAK_MIN_CHARS + 1)
            )
    _SECRETS.sort(key=len, reverse=True)
    if _PIECES:
        chars = sorted({c for piece in _PIECES for c in piece})
        _RUNS = re.compile(
            "[" + "".join(re.escape(c) for c in chars) + f"]{{{LEAK_MIN_CHARS},}}", re.IGNORECASE
        )


def redact(text: str) -> str:
    """``text`` with every registered secret (or a long enough piece of one) as ``***``."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    if _RUNS is None:
        return text
    return _RUNS.sub(_scrub_run, text)


def _scrub_run(match: re.Match[str]) -> str:
    """The run with each stretch of (overlapping) secret pieces replaced by ``***``."""
    run = match.group(0)
    lowered = run.lower()
    covered_until = -1
    stretches: list[tuple[int, int]] = []
    for start in range(len(lowered) - LEAK_MIN_CHARS + 1):
        if lowered[start : start + LEAK_MIN_CHARS] not in _PIECES:
            continue
        end = start + LEAK_MIN_CHARS
        if stretches and start <= covered_until:
            stretches[-1] = (stretches[-1][0], end)
        else:
            stretches.append((start, end))
        covered_until = end
    if not stretches:
        return run
    pieces: list[str] = []
    position = 0
    for start, end in stretches:
        pieces.append(run[position:start] + "***")
        position = end
    pieces.append(run[position:])
    return "".join(pieces)


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
    # A byte-order mark (a key file saved by a Windows editor) is not part of the key.
    value = value.strip().removeprefix("\ufeff").strip()
    if not value:
        raise BadInput(f"the NGC API key from {origin} is empty")
    register_secret(value)
    if not value.isascii():
        raise BadInput(
            f"the key from {origin} contains non-ASCII characters; an NGC key is plain "
            "ASCII (was it pasted through a word processor, with curly quotes or dashes?)"
        )
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
    """The key from ``key_file``, else ``$NGC_API_KEY``; ``warn`` gets a loose file mode."""
    if key_file is not None:
        from nimgen.files import KEY_FILE_MAX_BYTES, read_regular_file

        raw = read_regular_file(key_file, what="the API key file", max_bytes=KEY_FILE_MAX_BYTES)
        try:
            mode = key_file.stat().st_mode
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8"
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
