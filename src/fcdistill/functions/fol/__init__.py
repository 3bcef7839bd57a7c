"""First-order logic: a parser (FOLIO's Unicode and an ASCII notation), a z3 prover, and the
Premises / Check / Answer functions a model calls."""

from fcdistill.functions.fol.ast import Formula, to_ascii, to_unicode
from fcdistill.functions.fol.functions import fol_functions
from fcdistill.functions.fol.parser import FolSyntaxError, parse_formula
from fcdistill.functions.fol.prover import ArityError, Verdict, decide

__all__ = [
    "ArityError",
    "FolSyntaxError",
    "Formula",
    "Verdict",
    "decide",
    "fol_functions",
    "parse_formula",
    "to_ascii",
    "to_unicode",
]
