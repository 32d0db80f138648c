"""The library behind the commands: one function per command, ``Request -> frozen Result``.

* ``generate``: ``render(fetch(...))`` - the live phase (``live``) then the tree (``render``);
* ``fetch``, ``render``, ``probe_eu``, ``verify_key``, ``airgap``: one module each (the
  cluster commands' bodies live in ``nimgen.cluster``);
* ``common``: ``NgcAccess`` (the shared live options, built once) and ``RunLog``;
* ``live``, ``tree``, ``check``, ``previous``: the steps the commands share;
* ``results``: the typed results that ``nimgen.report`` prints.

Nothing here prints: progress, warnings and notes go to the ``RunLog`` the caller
passes; the CLI (``nimgen.cli``) turns the result into the summary and ``--json``.
"""
