"""What a run tells its user, one module per output (after pip-audit's ``_format``).

* ``console``: the stderr log (``RunLog``): info, warnings, errors, progress;
* ``summary``: the summary table and the lines after it;
* ``json_models`` / ``json_output``: the ``--json`` document and its schema;
* ``errors``: the one error path (any failure as one line, with its exit code);
* ``run``: runs a command's body and reports its result or its error.
"""
