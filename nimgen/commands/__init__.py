"""The body of every command: one function per command, ``Request -> frozen Result``.

Nothing here prints: progress, warnings and notes go to the ``RunLog`` the caller
passes; ``nimgen.report`` turns the result into the summary and ``--json``.
"""
