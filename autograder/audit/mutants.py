"""Small mutants of the solution's marked regions, each one change in one region.

A mutant is the solution file with one span of bytes replaced, so the rest of the file
stays byte-identical and its diff shows one line (rarely two). Spans come from the
positions ``ast`` records for every node, and only nodes lying wholly between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` are touched. The families:

    arith      swap an arithmetic operator: + <-> -, * <-> /, // -> /, @ -> *, ** -> *,
               and the same in augmented assignments (+= <-> -=, *= <-> /=)
    compare    swap a comparison (< <-> <=, > <-> >=, == <-> !=, is <-> is not),
               and <-> or, drop a `not`, negate an if-condition
    integer    an integer constant +-1 (sizes, indices, exponents, axes in tuples)
    index      a non-constant index or slice bound (lower, upper, step) +-1
    drop       drop one operand of a binary + or -, or delete a statement that
               updates state (`x += y`, `self.running_mean = ...`)
    transpose  remove a `.T`, add `.T` to an operand of `@`, swap two adjacent
               axes of `.transpose(...)`
    axis       change an `axis=`/`axes=` argument (0 <-> 1, -1 -> 0, drop an axis of a
               tuple, a named axis -> 0 or -1), `keepdims=True` -> False, and the
               output letters of an `np.einsum` subscript
    float      a float constant doubled or halved (0.0 -> 1.0); True <-> False
    function   a reduction or elementwise function swapped for its twin: sum <-> mean,
               max <-> min, argmax <-> argmin, maximum <-> minimum

Mutants that give the same text as another, or the same syntax tree as the solution,
are dropped; the rest are yielded in file order, so the list is deterministic.
"""
from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from ..release.regions import split_text

FAMILIES = ("arith", "compare", "integer", "index", "drop", "transpose", "axis", "float",
            "function")

ARITH_SWAPS = {ast.Add: ["-"], ast.Sub: ["+"], ast.Mult: ["/"], ast.Div: ["*"],
               ast.FloorDiv: ["/"], ast.MatMult: ["*"], ast.Pow: ["*"], ast.Mod: ["//"]}
OP_TEXT = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
           ast.MatMult: "@", ast.Pow: "**", ast.Mod: "%"}
COMPARE_SWAPS = {ast.Lt: ["<="], ast.LtE: ["<"], ast.Gt: [">="], ast.GtE: [">"],
                 ast.Eq: ["!="], ast.NotEq: ["=="], ast.Is: ["is not"], ast.IsNot: ["is"],
                 ast.In: ["not in"], ast.NotIn: ["in"]}
AXIS_KEYWORDS = ("axis", "axes")
TWINS = {"sum": "mean", "mean": "sum", "max": "min", "min": "max", "argmax": "argmin",
         "argmin": "argmax", "maximum": "minimum", "minimum": "maximum"}
ATOMS = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant, ast.List)
OPEN, CLOSE = "\x00", "\x01"     # parentheses that _operand added, kept only if needed


@dataclass(frozen=True)
class Region:
    """The lines strictly between one pair of markers (1-based, inclusive)."""
    first: int
    last: int


@dataclass(frozen=True)
class Mutant:
    """One change in one marked region of one solution file."""
    file: str          # "conv.py", a file of the solution package
    region: int        # which region of the file, from 1
    line: int          # the first changed line
    family: str        # one of FAMILIES
    change: str        # what changed, e.g. "`+` -> `-`"
    original: str      # the solution file's text
    source: str        # the mutated file's text

    @property
    def id(self):
        return f"{self.file}:{self.line} {self.family}: {self.change}"

    def diff(self, prefix="solution/numpynn/"):
        """A unified diff of the solution file against the mutant."""
        lines = difflib.unified_diff(self.original.splitlines(keepends=True),
                                     self.source.splitlines(keepends=True),
                                     fromfile=f"{prefix}{self.file}",
                                     tofile=f"{prefix}{self.file} (mutant)", n=2)
        return "".join(lines)


def regions(text: str) -> list[Region]:
    """The marked regions of ``text``, in order, as the release reads them."""
    return [Region(first, last) for first, last in split_text(text, "a solution file").spans]


def mutants(text: str, file: str):
    """Every mutant of ``text`` (the solution file called ``file``), deterministically."""
    spans = _Spans(text)
    marked = regions(text)
    tree = ast.parse(text)
    seen = {text}
    axes = _scalar_axes(tree)
    rebound = _rebindings(tree)
    for node in _nodes_in(tree, marked):
        if node in axes:
            continue                  # `axis=1`: the axis family changes it already
        where = _Scope(tree, node.lineno)
        for family, (start, end), replacement, change in _edits(node, spans, rebound):
            source = _fewest_parens(spans, start, end, replacement, where)
            if source is None or source in seen:
                continue
            seen.add(source)
            mutated = where.dump(source)
            if mutated is None or mutated == where.original:
                continue              # not Python (never expected), or only spelling changed
            line = start[0]
            region = next(i for i, r in enumerate(marked, start=1) if r.first <= line <= r.last)
            yield Mutant(file, region, line, family, change, text, source)


def solution_mutants(package: Path, files=None):
    """Every mutant of every marked file of ``package`` (or only of ``files``), in order."""
    names = files or sorted(p.name for p in package.glob("*.py"))
    for name in names:
        text = (package / name).read_text()
        if regions(text):
            yield from mutants(text, name)


# -- where nodes are ----------------------------------------------------------------------
class _Spans:
    """Positions in a file's text: ``ast`` gives (line, UTF-8 byte column) pairs."""

    def __init__(self, text):
        self.text = text
        self.data = text.encode()
        self.starts = [0]
        for line in self.data.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, line, col):
        """Character offset of (line, byte column)."""
        byte = self.starts[line - 1] + col
        return len(self.data[:byte].decode())

    def segment(self, node):
        return self.text[self.offset(node.lineno, node.col_offset):
                         self.offset(node.end_lineno, node.end_col_offset)]

    def replace(self, start, end, replacement):
        a, b = self.offset(*start), self.offset(*end)
        return self.text[:a] + replacement + self.text[b:]


def _start(node):
    return node.lineno, node.col_offset


def _end(node):
    return node.end_lineno, node.end_col_offset


def _nodes_in(tree, marked):
    """Nodes lying wholly inside one region, in source order."""
    inside = [n for n in ast.walk(tree)
              if hasattr(n, "lineno") and n.end_lineno is not None
              and any(r.first <= n.lineno and n.end_lineno <= r.last for r in marked)]
    return sorted(inside, key=lambda n: (n.lineno, n.col_offset, -n.end_lineno, -n.end_col_offset))


# -- the edits ------------------------------------------------------------------------------
def _edits(node, spans, rebound=frozenset()):
    """(family, (start, end), replacement text, change) for each mutation of ``node``."""
    if isinstance(node, ast.BinOp):
        yield from _binop(node, spans)
    elif isinstance(node, ast.AugAssign):
        yield from _augassign(node, spans)
    elif isinstance(node, ast.Compare):
        yield from _compare(node, spans)
    elif isinstance(node, ast.BoolOp):
        yield from _boolop(node, spans)
    elif isinstance(node, ast.UnaryOp):
        yield from _unary(node, spans)
    elif isinstance(node, (ast.If, ast.IfExp)):
        test = node.test
        yield ("compare", (_start(test), _end(test)), f"not {_operand(test, spans)}",
               f"negate `{_short(spans.segment(test))}`")
    elif isinstance(node, ast.Constant):
        yield from _constant(node, spans)
    elif isinstance(node, ast.Subscript):
        yield from _subscript(node, spans)
    elif isinstance(node, ast.Attribute) and node.attr == "T":
        yield ("transpose", (_start(node), _end(node)), _operand(node.value, spans),
               f"remove `.T` from `{_short(spans.segment(node.value))}`")
    elif isinstance(node, ast.Call):
        yield from _call(node, spans)
    elif isinstance(node, ast.keyword) and node.arg in AXIS_KEYWORDS + ("keepdims",):
        yield from _axis(node, spans)
    if isinstance(node, (ast.Assign, ast.AugAssign)) and (_updates_state(node) or node in rebound):
        segment = spans.segment(node)
        yield ("drop", (_start(node), _end(node)), "pass", f"delete `{_short(segment)}`")


def _binop(node, spans):
    op = type(node.op)
    for new in ARITH_SWAPS.get(op, []):
        where = _token_in_gap(spans, _end(node.left), _start(node.right), OP_TEXT[op])
        if where:
            yield "arith", where, new, f"`{OP_TEXT[op]}` -> `{new}`"
    if op in (ast.Add, ast.Sub):
        for kept, dropped in ((node.left, node.right), (node.right, node.left)):
            yield ("drop", (_start(node), _end(node)), _operand(kept, spans),
                   f"drop `{OP_TEXT[op]} {_short(spans.segment(dropped))}`"
                   if kept is node.left else f"drop `{_short(spans.segment(dropped))} {OP_TEXT[op]}`")
    if op is ast.MatMult:
        for side in (node.left, node.right):
            if not (isinstance(side, ast.Attribute) and side.attr == "T"):
                yield ("transpose", (_start(side), _end(side)), _operand(side, spans) + ".T",
                       f"add `.T` to `{_short(spans.segment(side))}`")


def _augassign(node, spans):
    op = type(node.op)
    swaps = {ast.Add: "-", ast.Sub: "+", ast.Mult: "/", ast.Div: "*"}
    if op in swaps:
        old = OP_TEXT[op] + "="
        where = _token_in_gap(spans, _end(node.target), _start(node.value), old)
        if where:
            yield "arith", where, swaps[op] + "=", f"`{old}` -> `{swaps[op]}=`"


def _compare(node, spans):
    left = node.left
    for op, right in zip(node.ops, node.comparators):
        gap = _gap_span(spans, _end(left), _start(right))
        for new in COMPARE_SWAPS.get(type(op), []):
            if gap:
                old = spans.text[spans.offset(*gap[0]):spans.offset(*gap[1])]
                yield "compare", gap, new, f"`{old}` -> `{new}`"
        left = right


def _boolop(node, spans):
    old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
    # Swap every keyword of the chain (`a and b and c` -> `a or b or c`): one change.
    text = spans.segment(node)
    pieces, cursor = [], spans.offset(*_start(node))
    for left, right in zip(node.values, node.values[1:]):
        gap = _gap_span(spans, _end(left), _start(right))
        if gap is None:
            return
        a, b = spans.offset(*gap[0]), spans.offset(*gap[1])
        pieces.append(spans.text[cursor:a] + new)
        cursor = b
    replaced = "".join(pieces) + spans.text[cursor:spans.offset(*_end(node))]
    if replaced != text:
        yield "compare", (_start(node), _end(node)), replaced, f"`{old}` -> `{new}`"


def _unary(node, spans):
    if isinstance(node.op, ast.Not):
        yield ("compare", (_start(node), _end(node)), _operand(node.operand, spans),
               f"drop `not` before `{_short(spans.segment(node.operand))}`")
    elif isinstance(node.op, ast.USub) and not isinstance(node.operand, ast.Constant):
        yield ("arith", (_start(node), _end(node)), _operand(node.operand, spans),
               f"drop the `-` of `{_short(spans.segment(node))}`")


def _constant(node, spans):
    value, where = node.value, (_start(node), _end(node))
    if isinstance(value, bool):
        yield "float", where, str(not value), f"`{value}` -> `{not value}`"
    elif isinstance(value, int):
        for new in (value + 1, value - 1):
            yield "integer", where, str(new), f"`{value}` -> `{new}`"
    elif isinstance(value, float):
        for new in ((1.0,) if value == 0 else (value * 2, value / 2)):
            yield "float", where, repr(new), f"`{spans.segment(node)}` -> `{new!r}`"


def _subscript(node, spans):
    """Non-constant index expressions and slice bounds, +-1 (constants are `integer`)."""
    elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    for element in elements:
        bounds = ([element.lower, element.upper, element.step]
                  if isinstance(element, ast.Slice) else [element])
        for bound in bounds:
            if bound is None or isinstance(bound, (ast.Constant, ast.Slice)) or \
                    (isinstance(bound, ast.UnaryOp) and isinstance(bound.operand, ast.Constant)):
                continue
            text = _operand(bound, spans)
            for sign in ("+", "-"):
                yield ("index", (_start(bound), _end(bound)), f"{text} {sign} 1",
                       f"index `{_short(spans.segment(bound))}` -> `{_short(spans.segment(bound))} {sign} 1`")


def _call(node, spans):
    function = node.func
    if isinstance(function, ast.Attribute) and function.attr in TWINS:
        twin = TWINS[function.attr]
        end = _end(function)
        yield ("function", ((end[0], end[1] - len(function.attr)), end), twin,
               f"`{function.attr}` -> `{twin}`")
    if isinstance(function, ast.Attribute) and function.attr == "transpose" and len(node.args) > 2:
        args = node.args
        for first, second in zip(args, args[1:]):
            a, b = spans.segment(first), spans.segment(second)
            between = spans.text[spans.offset(*_end(first)):spans.offset(*_start(second))]
            yield ("transpose", (_start(first), _end(second)), b + between + a,
                   f"swap axes {a} and {b} of `.transpose`")
    if (isinstance(function, ast.Attribute) and function.attr == "einsum" and node.args
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
            and "->" in node.args[0].value):
        subscripts = node.args[0].value
        inputs, output = subscripts.split("->")
        letters = sorted(set(inputs.replace(",", "")))
        for i, letter in enumerate(output):
            for other in letters:
                if other not in output:
                    new = f"{inputs}->{output[:i]}{other}{output[i + 1:]}"
                    quote = spans.segment(node.args[0])[-1]
                    yield ("axis", (_start(node.args[0]), _end(node.args[0])),
                           f"{quote}{new}{quote}",
                           f"einsum `{subscripts}` -> `{new}`")


def _axis(node, spans):
    value, where = node.value, (_start(node.value), _end(node.value))
    if node.arg == "keepdims":
        if isinstance(value, ast.Constant) and value.value is True:
            yield "axis", where, "False", "`keepdims=True` -> `keepdims=False`"
        return
    literal = _literal(value)
    if isinstance(literal, int):
        for new in (0, 1, -1):
            if new != literal:
                yield "axis", where, str(new), f"`{node.arg}={literal}` -> `{node.arg}={new}`"
    elif isinstance(literal, tuple) and all(isinstance(v, int) for v in literal):
        for i in range(len(literal)):
            rest = literal[:i] + literal[i + 1:]
            if rest:
                new = str(rest[0]) if len(rest) == 1 else str(rest)
                yield "axis", where, new, f"`{node.arg}={literal}` -> `{node.arg}={new}`"
    elif literal is None:
        segment = spans.segment(value)
        for new in ("0", "-1"):
            yield "axis", where, new, f"`{node.arg}={_short(segment)}` -> `{node.arg}={new}`"


def _rebindings(tree):
    """Assignments to a name the same function assigned before (`g = v` after `g = ...`):
    deleting one leaves the earlier value in use instead of failing with a NameError."""
    found = set()
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        bound = set()
        assignments = sorted((n for n in ast.walk(function) if isinstance(n, ast.Assign)),
                             key=lambda n: (n.lineno, n.col_offset))
        for node in assignments:
            names = {t.id for t in node.targets if isinstance(t, ast.Name)}
            if len(node.targets) == 1 and names and names <= bound:
                found.add(node)
            bound |= {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return found


def _scalar_axes(tree):
    """The constants of scalar ``axis=`` arguments (``axis=-1`` holds a 1 too)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in AXIS_KEYWORDS \
                and isinstance(_literal(node.value), int):
            found.update(n for n in ast.walk(node.value) if isinstance(n, ast.Constant))
    return found


def _literal(node):
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def _updates_state(node):
    """An assignment whose only effect is on state kept elsewhere (attribute, item, +=)."""
    if isinstance(node, ast.AugAssign):
        return True
    return all(isinstance(t, (ast.Attribute, ast.Subscript)) for t in node.targets)


# -- text helpers -------------------------------------------------------------------------
def _operand(node, spans):
    """``node``'s text, marked for parentheses unless it is an atom."""
    text = spans.segment(node)
    return text if isinstance(node, ATOMS) else f"{OPEN}{text}{CLOSE}"


class _Scope:
    """The function holding a line, compared across versions of the file by its position
    among the file's functions (dumping a whole file's tree per mutant would be slow)."""

    def __init__(self, tree, line):
        functions = _functions(tree)
        holding = [i for i, f in enumerate(functions) if f.lineno <= line <= f.end_lineno]
        self.index = holding[-1] if holding else None
        self.original = self._dump(tree)

    def _dump(self, tree):
        return ast.dump(tree if self.index is None else _functions(tree)[self.index])

    def dump(self, source):
        """The scope's tree in ``source``; None when ``source`` is not valid Python."""
        try:
            return self._dump(ast.parse(source))
        except (SyntaxError, IndexError):
            return None


def _functions(tree):
    return sorted((n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))),
                  key=lambda n: (n.lineno, n.col_offset))


def _fewest_parens(spans, start, end, replacement, where):
    """The mutated text, with no more parentheses than its meaning needs.

    ``replacement`` marks where _operand would add parentheses; parentheses of the
    source around the replaced node also go when the replacement no longer needs them
    (``a * (b - c)`` -> ``a * b``, not ``a * (b)``).
    """
    safe = spans.replace(start, end, replacement.replace(OPEN, "(").replace(CLOSE, ")"))
    bare = replacement.replace(OPEN, "").replace(CLOSE, "")
    a, b = spans.offset(*start), spans.offset(*end)
    text = spans.text
    candidates = [text[:a] + bare + text[b:]]
    if text[a - 1:a] == "(" and text[b:b + 1] == ")":
        candidates.insert(0, text[:a - 1] + bare + text[b + 1:])
    candidates = [c for c in candidates if c != safe]
    if not candidates:
        return safe
    intended = where.dump(safe)
    if intended is None:
        return None                 # never expected; such an edit is simply skipped
    return next((c for c in candidates if where.dump(c) == intended), safe)


def _gap_span(spans, after, before):
    """The span of the operator between two operands: the gap minus spaces, parens, comments."""
    a, b = spans.offset(*after), spans.offset(*before)
    gap = spans.text[a:b]
    code = re.sub(r"#[^\n]*", lambda m: " " * len(m.group()), gap)
    kept = [i for i, ch in enumerate(code) if ch not in " \t\n\\()"]
    if not kept:
        return None
    return _position(spans, a + kept[0]), _position(spans, a + kept[-1] + 1)


def _token_in_gap(spans, after, before, token):
    span = _gap_span(spans, after, before)
    if span and spans.text[spans.offset(*span[0]):spans.offset(*span[1])] == token:
        return span
    return None


def _position(spans, offset):
    """(line, byte column) of a character offset."""
    before = spans.text[:offset]
    line = before.count("\n") + 1
    column = len(before[before.rfind("\n") + 1:].encode())
    return line, column


def _short(text, width=40):
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."
