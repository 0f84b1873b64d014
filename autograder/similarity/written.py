"""What a student wrote: their file minus the code the release already gave them.

Both files are parsed and compared statement by statement, inside each function the
release defines (matched by its qualified name, ``Conv2d.forward``): the statements of
the release's body are dropped from the student's, and what is left is theirs. A
function or class the release does not have is the student's whole. Each statement is
laid out again by ``ast.unparse``, so comments, spacing and quoting are gone before any
fingerprint is taken; and the pieces come out in the release's order (helpers the
student added follow, by name), so that moving functions around changes nothing.

Without that, reformatting or reordering the skeleton would make the given code look
new, and two students who both ran a formatter would match on the release itself.
"""
import ast
import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Piece:
    """Code the student wrote in one place: ``where`` is "<module>" or a qualified name."""
    where: str
    code: str


def written(source: str, release: str = "") -> list:
    """The Pieces of ``source`` that ``release`` does not contain, in the release's order.

    A source that does not parse is one Piece, the whole text: copydetect's boilerplate
    filter still removes the given code from it, only less precisely.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return [Piece("<module>", source)] if source.strip() else []
    try:
        given = _bodies(ast.parse(release))
    except (SyntaxError, ValueError):
        given = {}
    pieces = []
    mine = _bodies(tree)
    order = [w for w in given if w in mine] + sorted(w for w in mine if w not in given)
    for where in order:
        if where in given:
            code = _new_statements(mine[where], given[where])
        else:
            code = [ast.unparse(s) for s in mine[where]]
        if code:
            pieces.append(Piece(where, "\n".join(code)))
    return pieces


def _bodies(tree) -> dict:
    """Qualified name -> the statements directly in that scope (nested scopes apart)."""
    bodies = {}

    def visit(where, statements):
        bodies[where] = [s for s in statements if not isinstance(s, SCOPES)]
        for s in statements:
            if isinstance(s, SCOPES):
                inner = s.name if where == "<module>" else f"{where}.{s.name}"
                visit(inner, s.body)

    visit("<module>", tree.body)
    return bodies


def _new_statements(mine, given) -> list:
    """The statements of ``mine`` (as text) that do not line up with one of ``given``."""
    matcher = difflib.SequenceMatcher(None, [_shape(s) for s in given], [_shape(s) for s in mine],
                                      autojunk=False)
    lined_up = {i for block in matcher.get_matching_blocks()
                for i in range(block.b, block.b + block.size)}
    return [ast.unparse(s) for i, s in enumerate(mine) if i not in lined_up]


def _shape(statement) -> str:
    """A statement with every variable and argument named ``V``, as copydetect sees it:
    renaming the skeleton's locals must not make it the student's."""
    copy = ast.parse(ast.unparse(statement)).body[0]
    for node in ast.walk(copy):
        if isinstance(node, ast.Name):
            node.id = "V"
        elif isinstance(node, ast.arg):
            node.arg = "V"
    return ast.dump(copy)


SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
