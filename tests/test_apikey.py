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
