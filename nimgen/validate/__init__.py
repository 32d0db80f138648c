"""``nimgen validate``: check nim-models-data ConfigMaps written by anyone.

The rules are the contract's (docs/nim-contract.md, "The model ConfigMap"),
and each entry is validated by the same ``ModelRecord`` that ``nimgen schema``
prints, so the checker and the published schema never disagree. YAML is read by
``nimgen.yamlio``, the loader every nimgen reader uses: duplicate keys are
reported (kubectl refuses them; PyYAML would silently keep the last), aliases,
deep nesting and oversized files are refused unread.

Every finding is a ``Problem`` printed as ``FILE: key: what is wrong``, where
``key`` is the model's key in ``data`` or the path of the field
(``metadata.name``). Warnings do not make a file invalid.
"""

from __future__ import annotations

from nimgen.validate.checker import validate_file, validate_text
from nimgen.validate.results import FileResult, Problem, exit_code

__all__ = [
    "FileResult",
    "Problem",
    "exit_code",
    "validate_file",
    "validate_text",
]
