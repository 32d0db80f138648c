from pathlib import Path

import pytest

from nimgen.apikey import ApiKey, check_personal, load_api_key, redact
from nimgen.errors import BadInput

KEY = "nvapi-unit-test-secret-0000"


def test_key_is_masked() -> None:
    key = ApiKey(KEY)
    assert KEY not in repr(key) and KEY not in str(key) and KEY not in f"{key}"
    assert key.reveal() == KEY
    assert redact(f"Bearer {KEY} failed") == "Bearer *** failed"


def test_legacy_key_refused_with_reason() -> None:
    with pytest.raises(BadInput, match="not a personal key") as info:
        check_personal("legacy-org-key-abc", "NGC_API_KEY")
    assert "legacy-org-key-abc" not in info.value.message


def test_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NGC_API_KEY", raising=False)
    with pytest.raises(BadInput, match="NGC_API_KEY"):
        load_api_key(None)
    assert load_api_key(None, required=False) is None


def test_key_file_and_permissions(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text(KEY + "\n")
    path.chmod(0o644)
    warnings: list[str] = []
    key = load_api_key(path, warn=warnings)
    assert key is not None and key.reveal() == KEY
    assert warnings and "chmod 600" in warnings[0]
    path.chmod(0o600)
    warnings.clear()
    load_api_key(path, warn=warnings)
    assert warnings == []


def test_unreadable_key_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="cannot read the API key file"):
        load_api_key(tmp_path / "missing")


# --- hostile key files and echoed variants ------------------------------------------------

LONG_KEY = "nvapi-Zx9kLmP2qRsT4uVwXy7AbCdEfGh1JkLmNoPqRsTuVwXyZ0123456789abcdefghij"


def test_a_byte_order_mark_is_not_part_of_the_key(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_bytes(b"\xef\xbb\xbf" + KEY.encode() + b"\r\n")
    path.chmod(0o600)
    key = load_api_key(path)
    assert key is not None and key.reveal() == KEY


@pytest.mark.parametrize("value", ["nvapi-caf\u00e9-0000", "\u201cnvapi-quoted-0000\u201d"])
def test_a_non_ascii_key_is_a_usage_error_that_does_not_echo_it(value: str) -> None:
    with pytest.raises(BadInput, match="contains non-ASCII characters") as info:
        check_personal(value, "NGC_API_KEY")
    assert info.value.exit_code == 2
    assert value not in info.value.message


def test_a_key_file_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    import os
    import threading

    fifo = tmp_path / "key"
    os.mkfifo(fifo)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            load_api_key(fifo)
        except BadInput as exc:
            errors.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "reading a FIFO key file blocked"
    (error,) = errors
    assert (
        str(error)
        == f"cannot read the API key file {fifo}: is a named pipe (FIFO), not a regular file"
    )


def test_a_huge_key_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "key"
    with path.open("wb") as handle:
        handle.truncate(1 << 30)
    with pytest.raises(BadInput, match="over the 4 KiB nimgen reads here"):
        load_api_key(path)


@pytest.mark.parametrize(
    "variant",
    [
        LONG_KEY.upper(),
        LONG_KEY.lower(),
        LONG_KEY.swapcase(),
        LONG_KEY[:12],
        LONG_KEY[-12:],
        LONG_KEY[20:50].upper(),
        LONG_KEY[:-1],
    ],
    ids=["upper", "lower", "swapcase", "first-12", "last-12", "middle-upper", "cut"],
)
def test_variants_of_the_key_are_redacted(variant: str) -> None:
    ApiKey(LONG_KEY)
    line = redact(f'NGC said: {{"error": "token {variant} is not valid"}}')
    assert line == 'NGC said: {"error": "token *** is not valid"}'


def test_short_pieces_and_ordinary_text_are_left_alone() -> None:
    ApiKey(LONG_KEY)
    text = f"{LONG_KEY[:11]} llama-3.1-8b-instruct sha256:{'ab' * 32} nvapi- keys"
    assert redact(text) == text


def test_two_variants_in_one_line_are_both_redacted() -> None:
    ApiKey(LONG_KEY)
    line = redact(f"a={LONG_KEY.upper()}, b={LONG_KEY[5:30]}; c={LONG_KEY}")
    assert line == "a=***, b=***; c=***"
