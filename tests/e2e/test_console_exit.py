"""The console script's end: exit codes and every byte of output survive, whatever
state stdout is in."""

from __future__ import annotations

import json
import os
import subprocess

from tests.support.nimgen_runner import clean_env, nimgen_executable, run_nimgen


def test_exit_codes_and_every_byte_of_output_survive() -> None:
    schema = run_nimgen("schema", "--json-output")
    assert schema.code == 0
    json.loads(schema.stdout)  # complete: flushed before the process ended
    assert run_nimgen("render", "--from", "/nonexistent/snapshot.json").code == 2
    assert run_nimgen("no-such-command").code == 2


def test_a_closed_pipe_takes_the_ordinary_exit() -> None:
    # stdout closed early (``nimgen schema | head -c 1``): Python's own report and status.
    with subprocess.Popen(
        [nimgen_executable(), "schema", "--json-output"],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        child.stdout.read(1)
        child.stdout.close()
        stderr = child.stderr.read()
        code = child.wait(timeout=120)
    assert code != 0 or stderr == b""  # never a silent success with output lost...
    assert b"Traceback" not in stderr


def test_a_closed_stdout_is_no_crash() -> None:
    # Started with descriptor 1 closed (``nimgen schema >&-``): sys.stdout is None.
    done = subprocess.run(
        [nimgen_executable(), "schema"],
        env=clean_env(),
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(1),
        timeout=120,
    )
    assert done.returncode == 0 and b"Traceback" not in done.stderr
