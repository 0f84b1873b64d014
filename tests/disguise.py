"""Disguise a copied source file the way students do: rename, reorder, reformat.

Used by the similarity tests and benchmark to build copies that share no identifier,
no layout and no function order with their source, so that a detector which finds them
finds them for the right reason. The result still compiles and keeps the public API
(class, method and module-level names, arguments passed by keyword), as a copy that
must pass the grader would.
"""
import ast
import builtins
import random

KEEP = {"self", "cls"} | set(dir(builtins))


class _Renamer(ast.NodeTransformer):
    """Renames every local variable and argument of each function, consistently."""

    def __init__(self, rng):
        self.rng = rng

    def visit_FunctionDef(self, node):
        self.generic_visit(node)            # nested functions first, with their own names
        # Arguments callers may pass by keyword (__init__'s, those with defaults) keep
        # their names, so that the copy still works; every other local is renamed.
        args = node.args.posonlyargs + node.args.args
        positional = args[:len(args) - len(node.args.defaults)]
        local = set() if node.name == "__init__" else {a.arg for a in positional}
        local |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                  and isinstance(n.ctx, ast.Store)}
        local -= KEEP
        fresh = {name: f"{self.rng.choice(WORDS)}_{i}" for i, name in enumerate(sorted(local))}
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id in fresh:
                sub.id = fresh[sub.id]
            elif isinstance(sub, ast.arg) and sub.arg in fresh:
                sub.arg = fresh[sub.arg]
        return node


def _reorder(body):
    """Functions in reverse order, everything else (docstring, imports, classes) in place."""
    slots = [i for i, node in enumerate(body) if isinstance(node, ast.FunctionDef)]
    functions = [body[i] for i in slots][::-1]
    for i, node in zip(slots, functions):
        body[i] = node
    for node in body:
        if isinstance(node, ast.ClassDef):
            _reorder(node.body)


def disguise(source: str, seed: int = 0) -> str:
    """``source`` with locals renamed, functions and methods reordered, and re-laid out
    by ``ast.unparse`` (comments gone, quotes, spacing and parentheses normalised)."""
    tree = ast.parse(source)
    _Renamer(random.Random(seed)).visit(tree)
    _reorder(tree.body)
    text = ast.unparse(ast.fix_missing_locations(tree))
    compile(text, "<disguised>", "exec")
    return text + "\n"


WORDS = ["arr", "buf", "tmp", "val", "res", "acc", "data", "item", "thing", "part",
         "blob", "piece", "chunk", "elem", "node", "stuff", "holder", "qty"]
