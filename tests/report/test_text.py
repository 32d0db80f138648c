"""What nimgen shows of text from outside: visible escapes, no workflow commands, any locale."""

from __future__ import annotations

import io
import json
from pathlib import Path

from nimgen.report.console import Console
from nimgen.report.summary import summary_table
from nimgen.report.text import pick, visible
from nimgen.snapshot import sample_path
from tests.support.nimgen_runner import clean_env, run_nimgen

HOSTILE = "m\x1b[2J\r\nnimgen: wrote 186 models\n::error::pwned\u202egpj.exe\x85\ud800"


def test_hidden_characters_become_visible_escapes() -> None:
    shown = visible(HOSTILE)
    assert shown == (
        "m\\x1b[2J\\r\\nnimgen: wrote 186 models\\n::error::pwned\\u202egpj.exe\\x85\\ud800"
    )
    assert visible("::set-output name=x::y").startswith("\\x3a:")
    assert visible("  ::warning::x") == "  \\x3a:warning::x"
    assert visible("plain-name_1.0 ✓") == "plain-name_1.0 ✓"  # printable text is left alone


def test_console_lines_and_summary_cells_show_escapes() -> None:
    stderr = io.StringIO()
    console = Console(stderr=stderr)
    console.warn(f"model {HOSTILE}: gone")
    console.error("bad", (HOSTILE,))
    text = stderr.getvalue()
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text
    assert len(text.splitlines()) == 3
    assert not any(line.lstrip().startswith("::") for line in text.splitlines())
    table = summary_table("t", [("failed", HOSTILE), ("markup", "[red]x[/red]")], width=200)
    assert "\x1b" not in table and "\\x1b[2J" in table and "[red]x[/red]" in table


def test_the_summary_draws_ascii_lines_where_the_stream_cannot_encode_boxes() -> None:
    assert pick("\u250f", "+", "ascii") == "+" and pick("\u250f", "+", "utf-8") == "\u250f"
    table = summary_table("t", [("models shipped", "3")], width=60, ascii_only=True)
    table.encode("ascii")  # no box drawing, no escapes of it
    assert "+--" in table


def test_a_hostile_name_in_a_file_is_named_with_escapes(tmp_path: Path) -> None:
    snapshot = json.loads(sample_path().read_text(encoding="utf-8"))
    snapshot["models"][0]["record"]["name"] = "evil\x1b[31m\n::error::pwned\u202e"
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(snapshot), encoding="utf-8")
    result = run_nimgen("render", "--from", str(path), "--output", str(tmp_path / "out"))
    assert result.code == 2
    assert "\x1b" not in result.stderr and "\u202e" not in result.stderr
    assert "evil\\x1b[31m" in result.stderr  # named, as an escape
    assert not any(line.lstrip().startswith("::") for line in result.stderr.splitlines())


def test_any_locale_works(tmp_path: Path) -> None:
    for env in ({"PYTHONIOENCODING": "ascii"}, {"LC_ALL": "C", "LANG": "C"}):
        result = run_nimgen(
            "render", "--output", str(tmp_path / "out"), "--json", env=clean_env(**env)
        )
        assert result.code == 0, result.stderr
        assert "\\u250c" not in result.stderr and "Traceback" not in result.stderr
        assert json.loads(result.stdout)["ok"] is True
