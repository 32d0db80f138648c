"""``nimgen verify-key``: does NGC accept the key?"""

from __future__ import annotations

from nimgen.cli import EXIT_CODES_HELP, app
from nimgen.cli.ngc_options import Ngc
from nimgen.cli.options import Output, grouped


@app.command("verify-key", epilog=EXIT_CODES_HELP)
@grouped
def verify_key(*, ngc: Ngc, out: Output) -> None:
    """Check that NGC accepts the key: exit 0 valid, 4 rejected."""
    from nimgen.commands.verify_key import verify_key as verify
    from nimgen.report.run import run_command

    access = ngc.access()
    run_command("verify-key", out.console(ngc.verbose), lambda log: verify(access, log))
