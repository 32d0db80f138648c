"""``nimgen validate``: check nim-models-data ConfigMaps written by anyone.

The rules are the contract's (docs/contract.md), and each entry is validated by the
``ModelRecord`` whose schema ``nimgen schema`` prints. YAML is read by ``nimgen.yamlio``,
the loader every nimgen reader uses.

Every finding is a ``Problem`` printed as ``FILE: key: what is wrong``, where
``key`` is the model's key in ``data`` or the path of the field
(``metadata.name``). Warnings do not make a file invalid.
"""

from __future__ import annotations

from nimgen.validate.checker import validate_file, validate_text
from nimgen.validate.results import FileResult, Problem, exit_code

__all__ = ["FileResult", "Problem", "exit_code", "validate_file", "validate_text"]
