"""The cluster commands' results through ``run_command``: their own ``--json`` document, no
summary table, and the one error path (no cluster needed)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nimgen.cli import main
from nimgen.commands.results import ClusterResult
from nimgen.errors import BadInput, ExitCode
from nimgen.report.console import Console
from nimgen.report.run import CommandExit, run_command


def run(
    body: Callable[[Console], ClusterResult], *, json_output: bool = True, quiet: bool = False
) -> tuple[int, str, str]:
    stdout = io.StringIO()
    stderr = io.StringIO()
    console = Console(quiet=quiet, json_output=json_output, stdout=stdout, stderr=stderr)
    with pytest.raises(CommandExit) as caught:
        run_command("status", console, body)
    assert isinstance(caught.value.code, int)
    return caught.value.code, stdout.getvalue(), stderr.getvalue()


def printed(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def finding(code: int) -> Callable[[Console], ClusterResult]:
    def body(log: Console) -> ClusterResult:
        log.info("a finding, printed as it was found")
        log.warn("twice")
        log.warn("twice")
        return ClusterResult("status", {"namespace": "apps", "command": "not this"}, code)

    return body


@pytest.mark.parametrize(
    ("code", "ok"), [(ExitCode.OK, True), (ExitCode.DRIFT, True), (ExitCode.RUN_FAILED, False)]
)
def test_the_document_is_the_finding_and_the_head(code: int, ok: bool) -> None:
    exit_code, stdout, stderr = run(finding(code))
    assert exit_code == code
    # Every warning, in order (not de-duplicated); the head wins over the finding's own keys.
    expected = {"namespace": "apps", "command": "status", "ok": ok, "exitCode": int(code)}
    assert stdout == printed({**expected, "warnings": ["twice", "twice"]})
    # No summary table: only what the command printed as it went.
    assert stderr == "a finding, printed as it was found\nwarning: twice\nwarning: twice\n"


def test_quiet_without_json_prints_only_the_warnings() -> None:
    exit_code, stdout, stderr = run(finding(ExitCode.DRIFT), json_output=False, quiet=True)
    assert (exit_code, stdout) == (3, "")
    assert stderr == "warning: twice\nwarning: twice\n"


def test_a_failure_is_one_line_and_an_error_document_with_error_details() -> None:
    def body(log: Console) -> ClusterResult:
        log.warn("first")
        raise BadInput("give exactly one of --namespace NS or --all-namespaces")

    exit_code, stdout, stderr = run(body)
    assert exit_code == 2
    assert stderr == (
        "warning: first\nnimgen: error: give exactly one of --namespace NS or --all-namespaces\n"
    )
    # errorDetails is there even when empty, as the cluster commands always printed it.
    assert stdout == printed(
        {
            "command": "status",
            "ok": False,
            "exitCode": 2,
            "error": "give exactly one of --namespace NS or --all-namespaces",
            "errorDetails": [],
            "warnings": ["first"],
        }
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "--json"],
        ["cleanup", "--json", "--apply"],
        ["migrate-deployments", "-n", "p", "--json"],
    ],
)
def test_each_cluster_command_takes_the_cluster_options_and_the_error_path(
    argv: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NGC_API_KEY", raising=False)  # migrate-deployments reads it
    missing = tmp_path / "kubectl"
    args = [*argv, "--kubectl", str(missing), "--context", "c", "--backup", str(tmp_path / "b")]
    if argv[0] != "cleanup":
        args = args[:-2]
    with pytest.raises(SystemExit) as caught:
        main(args)
    captured = capsys.readouterr()
    assert caught.value.code == 2
    message = f"{missing}: not found; install kubectl or oc, or give --kubectl PATH"
    assert captured.err == f"nimgen: error: {message}\n"
    document = json.loads(captured.out)
    assert document == {
        "command": argv[0],
        "ok": False,
        "exitCode": 2,
        "error": message,
        "errorDetails": [],
        "warnings": [],
    }
