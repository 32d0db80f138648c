"""``nimgen validate``: check nim-models-data ConfigMaps written by anyone, by the contract's
rules (docs/contract.md) and the ``ModelRecord`` whose schema ``nimgen schema`` prints.
Each finding prints as ``FILE: key: what is wrong``; warnings leave a file valid.
"""

from __future__ import annotations

from nimgen.validate.checker import validate_file, validate_text
from nimgen.validate.results import FileResult, Problem, exit_code

__all__ = ["FileResult", "Problem", "exit_code", "validate_file", "validate_text"]
