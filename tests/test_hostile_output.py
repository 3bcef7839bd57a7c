"""Hostile model output: every call parser, and the agent path behind it, under at least
10,000 generated replies each.

Properties, for the text protocol, the json protocol (OpenAI `tool_calls` and Hermes
`<tool_call>` text), `parse_call` and the FOL parser `parse_formula`:

* nothing escapes but the parser's own error (CallError / FolSyntaxError);
* a parsed call has a plain identifier for a name and plain literal arguments, all of it
  valid Unicode text (so a chain can always be written to JSON);
* through the agent (`Agent.replay`, `Agent.run` on a scripted backend, `FunctionSet.execute`)
  nothing crashes, every executed function is a registered one and its arguments are
  validated values of the declared types, and every refusal is a message for the model;
* nothing else runs: an audit hook, armed only inside these tests, fails on exec, process,
  socket, dlopen, file-removal and file-write events.

Bounded functions (huge numbers, division by zero, absurd places, pathological formulas, a
prover time-out) answer with a result or an error message, within a bounded time.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import time
import typing
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fcdistill.agent.loop import Agent, AgentConfig
from fcdistill.agent.protocols import JsonProtocol, TextProtocol
from fcdistill.backends.base import Completion, Turn, TurnSource, Until, serve_in_lockstep
from fcdistill.functions.calls import Call, CallError, parse_call
from fcdistill.functions.fol.ast import Formula, depth, to_ascii, to_unicode
from fcdistill.functions.fol.functions import MAX_PREMISES, fol_functions
from fcdistill.functions.fol.parser import MAX_DEPTH, FolSyntaxError, parse_formula
from fcdistill.functions.fol.prover import WATCHDOG_GRACE_S
from fcdistill.functions.numbers import MAX_ABS, MAX_DENOMINATOR
from fcdistill.functions.registry import Function, FunctionSet, format_arguments
from fcdistill.records import Chain, Problem, Sampling
from fcdistill.tasks import get_task
from fcdistill.tasks.base import Task

EXAMPLES = 10_000  # generated replies per parser

# -- the audit guard ---------------------------------------------------------------------
# Audit hooks cannot be removed, so the hook is installed once and does nothing unless armed.
FORBIDDEN = {
    "exec",
    "os.system",
    "subprocess.Popen",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "socket.connect",
    "ctypes.dlopen",
    "os.remove",
    "os.rmdir",
    "os.rename",
    "shutil.rmtree",
}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_armed = False
VIOLATIONS: list[str] = []


class GuardViolation(RuntimeError):
    """Raised by the audit hook when armed code does something it must never do."""


def _audit(name: str, args: tuple[Any, ...]) -> None:
    if not _armed:
        return
    if name == "open":
        mode, flags = args[1], args[2] if len(args) > 2 else 0
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & WRITE_FLAGS)
        if not writes:
            return
    elif name not in FORBIDDEN:
        return
    VIOLATIONS.append(f"{name}{args!r}"[:200])
    raise GuardViolation(f"audit event {name} while the guard is armed")


sys.addaudithook(_audit)


@contextmanager
def guarded() -> Iterator[None]:
    """Arm the audit hook around code under test; fail if anything forbidden was attempted."""
    global _armed
    VIOLATIONS.clear()
    _armed = True
    try:
        yield
    finally:
        _armed = False
    assert not VIOLATIONS, VIOLATIONS  # even if the code under test swallowed the GuardViolation


@contextmanager
def paused() -> Iterator[None]:
    """Disarm the hook for trusted set-up inside armed code (see `Recorded.functions`)."""
    global _armed
    armed, _armed = _armed, False
    try:
        yield
    finally:
        _armed = armed


def _connect() -> None:
    with socket.socket() as s:
        s.connect(("127.0.0.1", 9))


@pytest.mark.parametrize(
    "audit_event, action",
    [
        ("exec", lambda path: exec("x = 1")),
        ("exec", lambda path: eval(compile("1 + 1", "<guard>", "eval"))),
        ("os.system", lambda path: os.system(f"touch {path}")),
        ("subprocess.Popen", lambda path: subprocess.Popen(["touch", str(path)])),
        ("open", lambda path: open(path, "w")),
        ("open", lambda path: os.open(path, os.O_WRONLY | os.O_CREAT)),
        ("os.remove", lambda path: os.remove(path)),
        ("socket.connect", lambda path: _connect()),
    ],
    ids=["exec", "eval", "os.system", "subprocess", "open-w", "os.open-w", "os.remove", "socket"],
)
def test_guard_catches_forbidden_actions(audit_event, action, tmp_path):
    """Positive control: the armed guard stops each action before it happens, and reports it
    even when the code under test swallows the exception."""
    path = tmp_path / "pwned"
    with pytest.raises(AssertionError) as info:
        with guarded():
            with pytest.raises(GuardViolation):
                action(path)
    assert VIOLATIONS and all(v.startswith(f"{audit_event}(") for v in VIOLATIONS), info.value
    assert not path.exists()
    VIOLATIONS.clear()
    exec("x = 1")  # disarmed: nothing is stopped
    assert open(path, "w").close() is None and path.exists()


def test_guard_allows_parsing():
    """ast.parse raises a `compile` event and reading files an `open` event: both are fine."""
    with guarded():
        assert parse_call("Sum(a=1, b=2)") == Call("Sum", (), {"a": 1, "b": 2})
        with open(__file__, encoding="utf-8") as f:
            f.read(1)


# -- recorded functions ------------------------------------------------------------------
class Recorded(Task):
    """A task whose functions log every execution, after checking that the arguments are
    validated values of the declared types (a validated call re-validates to itself)."""

    def __init__(self, task: Task) -> None:
        self.task, self.name, self.description = task, task.name, task.description
        self.registered = {f.name for f in task.functions()}
        self.ran: list[tuple[str, dict[str, Any]]] = []
        self._unused: FunctionSet | None = None

    def functions(self) -> FunctionSet:
        """A fresh set, as the agent asks for per chain (FOL sets keep their premises); one in
        which nothing has run yet is as good as fresh, and is handed out again (building FOL
        sets is slow). Building a Function evaluates its own type hints (an `exec` audit
        event) before any model output is read, so the guard pauses for exactly that."""
        if self._unused is None:
            with paused():
                functions = self.task.functions()
            self._unused = FunctionSet(self._recorded(f) for f in functions)
        return self._unused

    def _recorded(self, f: Function) -> Function:
        recorded, fn = copy.copy(f), f.fn

        def run(**arguments: Any) -> Any:
            _check_validated(f, arguments)
            self.ran.append((f.name, arguments))
            value = fn(**arguments)
            self._unused = None  # it ran: the set may hold state now
            return value

        recorded.fn = run
        return recorded

    def problems(self, n: int, *, split: str = "test", seed: int = 0) -> list[Problem]:
        return self.task.problems(n, split=split, seed=seed)

    def check(self, answer: str | None, problem: Problem) -> bool:
        return self.task.check(answer, problem)


def _declared(annotation: Any) -> type:
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated else annotation


def _is_text(value: str) -> bool:
    """Valid Unicode, i.e. no lone surrogates."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_validated(f: Function, arguments: dict[str, Any]) -> None:
    """Runs inside Function.run, which turns ValueError and CallError into refusals: every
    failure here must be an AssertionError."""
    assert f.name in REGISTERED
    assert set(arguments) == {p.name for p in f.parameters}
    for p in f.parameters:
        value, kind = arguments[p.name], _declared(p.annotation)
        if typing.get_origin(kind) is list:  # list[str]: a list of validated items
            [item_kind] = typing.get_args(kind)
            assert isinstance(value, list), (f.name, p.name, value)
            items = value
        else:
            item_kind, items = kind, [value]
        for item in items:
            assert isinstance(item, item_kind), (f.name, p.name, item)
            if item_kind is Fraction:
                assert abs(item) <= MAX_ABS and item.denominator <= MAX_DENOMINATOR
            if isinstance(item, str):
                assert _is_text(item), (f.name, p.name, item)
    try:
        rebound = f.bind(Call(f.name, kwargs=arguments))
    except CallError as exc:
        raise AssertionError(f"validated arguments fail validation: {exc}") from None
    assert rebound == arguments


TASKS = {
    "arith": Recorded(get_task("arith")),
    "gsm8k": Recorded(get_task("gsm8k")),
    "folgen": Recorded(get_task("folgen", think=True)),
}
REGISTERED = set().union(*(t.registered for t in TASKS.values()))
NAMES = sorted(REGISTERED)
PARAMS = sorted({p.name for t in TASKS.values() for f in t.task.functions() for p in f.parameters})


def _check_chain(chain: Chain, task: Recorded) -> None:
    """Valid steps ran a registered function (in the order logged), refusals are messages,
    and the chain can be written out as JSON."""
    assert len(task.ran) <= len(chain.calls)
    logged = iter((name, format_arguments(arguments)) for name, arguments in task.ran)
    for call in chain.calls:
        assert isinstance(call.result, str)
        if call.valid:
            assert call.name in task.registered
            assert any(entry == (call.name, call.arguments) for entry in logged), "a valid step that never ran"
        else:
            assert call.name is None and call.arguments is None and call.result
    assert chain.stop_reason != "error"
    json.loads(chain.model_dump_json())


# -- properties of a parsed call ---------------------------------------------------------
LITERALS = (int, float, complex, str, bytes, bool, type(None), type(Ellipsis))


def _plain(value: Any) -> None:
    """Plain literals all the way down (walked without recursion: JSON may nest deeply)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack += item
        else:
            assert type(item) in LITERALS, type(item)
            assert not isinstance(item, str) or _is_text(item), item


def _check_call(call: Call) -> None:
    assert isinstance(call, Call) and isinstance(call.name, str) and call.name.isidentifier()
    assert all(isinstance(k, str) for k in call.kwargs)
    _plain(call.args)
    _plain(call.kwargs)


def _outcome(parse: Callable[[], Any], errors: type[Exception] | tuple[type[Exception], ...] = CallError) -> Any:
    """The parse result, or None when refused with the parser's own error (which must explain)."""
    try:
        return parse()
    except errors as exc:
        assert str(exc)
        return None


def _generate(strategy: st.SearchStrategy, check: Callable[[Any], list[str]]) -> Counter:
    """Run `check` on EXAMPLES generated values, armed; count the outcomes it reports."""
    outcomes: Counter = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, database=None)
    @given(strategy)
    def run(value: Any) -> None:
        with guarded():
            labels = check(value)
        outcomes.update(labels)
        outcomes["examples"] += 1

    run()
    assert outcomes["examples"] >= EXAMPLES, outcomes
    return outcomes


# -- hostile text: pools built once, combined by a few draws each ---------------------------------
HOMOGLYPHS = {
    "S": "Ѕ",
    "a": "а",
    "e": "е",
    "o": "о",
    "c": "с",
    "p": "р",
    "A": "Α",
    "C": "С",
    "P": "Р",
    "x": "х",
    "i": "і",
    "T": "Т",
}
TRICKS = [
    "\u200d",
    "\u200c",
    "\u202e",
    "\u202d",
    "\u200e",
    "\ufeff",
    "\x00",
    "\xa0",
    "\u2028",
    "\u0301",
    "\u3000",
    "１",
    "٣",
    "\t",
    "\r",
]
PAYLOADS = [
    "__import__('os').system('x')",
    "().__class__.__bases__[0].__subclasses__()",
    "Sum.__globals__",
    "Sum.__globals__['__builtins__']['exec']('import os')",
    "Sum.__init__.__globals__['__builtins__']",
    "__builtins__.__dict__['exec']('1')",
    "Answer(answer=Sum.__globals__)",
    "Sum(a=__import__('os').system('x'), b=1)",
    "eval('1+1')",
    "exec('import os')",
    "open('/tmp/fcdistill-pwned', 'w')",
    "breakpoint()",
    "compile('1', '', 'eval')",
    "getattr(Sum, 'fn')(1, 2)",
    "Sum.fn(a=1, b=2)",
    "Sum.__call__(a=1, b=2)",
    "Sum(**{'a': 1, 'b': 2})",
    "Sum(*[1, 2])",
    "Answer(answer=(lambda: __import__('os'))())",
    "Answer(answer=[x for x in ().__class__.__mro__])",
    "Answer(answer={k: v for k, v in ()})",
    "Answer(answer=(x for x in ()))",
    "Answer(answer={x for x in ()})",
    'Answer(answer=f\'{__import__("os").system("x")}\')',
    "Answer(answer=f'{1}')",
    "Answer(answer=f'{x!r:>{10}}')",
    "Sum(a=(b:=1), b=2)",
    "(Sum := 1)",
    "Sum(a=1, b=2)(a=3)",
    "Sum(a=1, b=2).__class__",
    "Sum(a=1, b=2)[0]",
    "[Sum(a=1, b=2) for _ in range(10**9)]",
    "Sum(a=1, b=2) if 1 else os.system('x')",
    "Sum(a=1, b=2); import os",
    "import os",
    "lambda: Sum(a=1, b=2)",
    "await Sum(a=1, b=2)",
    "Sum(a=(yield), b=1)",
    "Sum(a=1, b=2) # comment",
    "Answer(answer=...)",
    "Answer(answer=b'bytes')",
    "Answer(answer=1j)",
    "Answer(answer={1, 2})",
    "Answer(answer={[]: 1})",
    "Answer(answer={{}})",
    "Answer(answer='\\ud800')",
    "Answer(answer='\\udfff\\ud800')",
    "Answer(answer={'\\ud800': 1})",
    "Think(thought='\\udc80')",
    "Answer(answer='a' * 10**9)",
    "Answer(answer=9**9**9)",
    "Power(base=10, exponent=10**6)",
    "Answer(answer=Sum)",
    "type('X', (), {})()",
    "Answer(answer=__debug__)",
    "Answer(answer=NotImplemented)",
    "Premises(formulas=[open('/etc/passwd').read()])",
    "Check(conclusion=__import__('subprocess').run(['id']))",
    "Think(thought=\"'''\")",
    'Answer(answer="""x""")',
    "Answer(answer=r'\\x')",
    "Answer(answer=u'x')",
    "Ｓｕｍ(a=1, b=2)",
    "Sum(ａ=1, b=2)",
    "Ѕum(a=1, b=2)",
    "Sum(a=１, b=2)",
    "Su\u200dm(a=1, b=2)",
    "Sum(a=1,\x00 b=2)",
    "\u202eSum(a=1, b=2)",
    "Sum\u202e(a=1, b=2)",
    "Sum(a='\u202e1', b=2)",
    "Sum(a=1, b=2)\u200b",
]
NUMBERS = [
    "1e308",
    "1e309",
    "-1e308",
    "5e-324",
    "1e-400",
    "0.1",
    "-0.0",
    "1_000",
    "0x1F",
    "0b101",
    "0o7",
    "1j",
    "2+3j",
    "-1",
    "--1",
    "+1",
    "~1",
    "not 1",
    "1/0",
    "1//0",
    "10**15",
    "10**16",
    "float('nan')",
    "nan",
    "inf",
    "-inf",
    "True",
    "None",
    "'1,234'",
    "'$5'",
    "'3/4'",
    "'1/0'",
    "'1e99999999'",
    "' 12 '",
    "'٣'",
    "'１２'",
    "'0x10'",
    "'-'",
    "'.'",
    "''",
    "1000000000000000",
    "1000000000000001",
    "0.0000000000001",
    "'99999999999999999999999999999999999999999'",
]
ESCAPES = [
    "'\\ud800'",
    "'\\udfff'",
    "'\\x00'",
    "'\\u202e'",
    "'\\N{RIGHT-TO-LEFT OVERRIDE}'",
    "'a\\u200db'",
    "'\\U0010ffff'",
    "b'\\xff'",
    "'''",
    '"\\""',
    "'\\'",
]
DEPTHS = [1, 2, 3, 50, 199, 200, 201, 500, 999, 1000, 1001, 1990, 4999]
NESTERS = [
    ("[", "]"),
    ("(", ")"),
    ("{", "}"),
    ("(", ",)"),
    ("[(", ")]"),
    ("-", ""),
    ("not ", ""),
    ("~", ""),
    ("lambda: ", ""),
    ("*", ""),
    ("{'k': ", "}"),
    ("f(", ")"),
    ("1 + ", ""),
    ("(1, ", ")"),
]
NESTED = [opener * n + "1" + close for opener, closer in NESTERS for n in DEPTHS for close in (closer * n, "")] + [
    "[" * 100_000 + "]" * 100_000,
    "(" * 100_000,
]
HUGE = ["9" * n for n in (15, 16, 17, 400, 1990, 4300, 4301, 100_000)] + [repr("x" * n) for n in (100, 1990, 100_000)]
LITERAL_POOL = NUMBERS + PAYLOADS + ESCAPES + NESTED + HUGE


def _swap(name: str, i: int) -> str:
    return name[:i] + HOMOGLYPHS.get(name[i], name[i]) + name[i + 1 :]


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _variants(words: list[str]) -> list[str]:
    """Each word, lower-cased, with one homoglyph, in fullwidth letters, and with a trick character."""
    out = [*words, *(w.lower() for w in words), *(_fullwidth(w) for w in words)]
    out += [_swap(w, i) for w in words for i in range(len(w)) if w[i] in HOMOGLYPHS]
    out += [w[:1] + trick + w[1:] for w in words for trick in TRICKS[:7]]
    return out


NAME_POOL = _variants(NAMES) + [
    "__import__",
    "eval",
    "exec",
    "open",
    "getattr",
    "breakpoint",
    "__class__",
    "print",
    "globals",
    "True",
    "None",
    "_",
    "Sum.__globals__",
    "().__class__.__bases__[0].__subclasses__",
    "Sum.fn",
    "os.system",
    "Sum.__call__",
    "Answer.run",
    "Sum Sum",
    "",
    "1Sum",
    "Sum-1",
    "λ",
    "Sum\u200b",
    "Answer\x00",
]
KEYWORD_POOL = _variants(PARAMS) + ["**", "*", "_", "__class__", "self", "kwargs", "A", "a b", "1a"]
MUTATIONS = [
    ")",
    "))",
    "; import os",
    "\nSum(a=1, b=2)",
    " and 1",
    ".__class__",
    "[0]",
    "(1)",
    "\\",
    ":",
    "\n\n\n",
    "#",
]
PREFIXES = ["x = ", "return ", "print(", "@", "*", "not ", "-", "await ", "yield ", "def f(): ", "Sum", "\ufeff"]
BRACKETS = [("[", "]"), ("(", ",)"), ("{", "}"), ("{1: ", "}")]

pool_literals = st.sampled_from(LITERAL_POOL)
literals = st.one_of(
    pool_literals,
    pool_literals,
    st.integers().map(str),
    st.floats().map(repr),
    st.text(max_size=12).map(repr),
    st.tuples(st.sampled_from(BRACKETS), st.lists(pool_literals, max_size=3)).map(
        lambda t: t[0][0] + ", ".join(t[1]) + t[0][1]
    ),
)
identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)
names = st.one_of(st.sampled_from(NAME_POOL), st.sampled_from(NAME_POOL), identifiers)
keywords = st.one_of(st.sampled_from(KEYWORD_POOL), st.none(), st.none())  # None: a positional argument


@st.composite
def _mutated(draw: st.DrawFn, text: str) -> str:
    """Cut short, followed by more, a trick character inside, or something in front."""
    mutation = draw(st.integers(0, 6))
    if mutation == 1:
        return text[: draw(st.integers(0, len(text)))]
    if mutation == 2:
        return text + draw(st.sampled_from(MUTATIONS))
    if mutation == 3:
        i = draw(st.integers(0, len(text)))
        return text[:i] + draw(st.sampled_from(TRICKS)) + text[i:]
    if mutation == 4:
        return draw(st.sampled_from(PREFIXES)) + text
    return text


@st.composite
def near_miss_calls(draw: st.DrawFn) -> str:
    """A real (or almost real) function name with random literal-ish arguments."""
    parts = []
    for _ in range(draw(st.integers(0, 3))):
        keyword, value = draw(keywords), draw(literals)
        parts.append(value if keyword is None else f"{keyword}={value}")
    return draw(_mutated(f"{draw(names)}({', '.join(parts)})"))


SIGNATURES = sorted(
    {
        (f.name, tuple((p.name, _declared(p.annotation)) for p in f.parameters))
        for t in TASKS.values()
        for f in t.task.functions()
    },
    key=repr,
)
FORMULAS = [
    "forall x (Cat(x) -> Animal(x))",
    "Cat(tom)",
    "∀x (P(x) → Q(x))",
    "P(a) & ~P(a)",
    "exists y Likes(y, y)",
    "x",
    "",
    "(((",
    "P(x)",
]
ARGUMENT_VALUES = {
    Fraction: st.one_of(
        st.integers(-999, 999).map(str),
        st.integers(-(10**16), 10**16).map(str),
        st.floats().map(repr),
        st.sampled_from(NUMBERS),
        literals,
    ),
    int: st.one_of(st.integers(-20, 20).map(str), st.integers().map(str), st.sampled_from(NUMBERS), literals),
    str: st.one_of(st.text(max_size=20).map(repr), st.sampled_from(FORMULAS).map(repr), literals),
}
ARGUMENT_VALUES[list[str]] = st.one_of(
    st.lists(ARGUMENT_VALUES[str], max_size=4).map(lambda items: f"[{', '.join(items)}]"), ARGUMENT_VALUES[str]
)


@st.composite
def signature_calls(draw: st.DrawFn) -> str:
    """A real function with its own parameters (some dropped, one extra), values of the
    declared kind or not, by keyword or by position."""
    name, params = draw(st.sampled_from(SIGNATURES))
    parts, positional = [], draw(st.booleans())
    for param, kind in params:
        if draw(st.integers(0, 9)):
            value = draw(ARGUMENT_VALUES[kind])
            parts.append(value if positional else f"{param}={value}")
    if not draw(st.integers(0, 9)):
        parts.append(f"{draw(st.sampled_from(KEYWORD_POOL))}={draw(literals)}")
    return f"{name}({', '.join(parts)})"


hostile_calls = st.one_of(
    signature_calls(),
    signature_calls(),
    near_miss_calls(),
    near_miss_calls(),
    st.sampled_from(PAYLOADS),
    st.sampled_from(NESTED),
    st.text(max_size=60),
    st.text(alphabet="SumAnswer()[]{}=,'\"0123456789._ \n:*#\\", max_size=40),
)
FENCES = [
    "```\n{}\n```",
    "```python\n{}\n```",
    "```py\n{}```",
    "```json\n{}\n```",
    "Call: {}",
    "Action:{}",
    "function call : {}",
    "CALL:{}",
    "I will add.\n{}",
    "{}\nThat is my call.",
    "{}\r\n",
    "   {}\n\n\n",
    "{}\n" * 2,
    "\t{}",
    "```\n{}",
]


@st.composite
def replies(draw: st.DrawFn) -> tuple[str, str]:
    """A hostile call, and the reply a model wraps it in: bare, fenced, labelled, amid prose,
    next to another call."""
    call = draw(hostile_calls)
    style = draw(st.integers(0, 5))
    if style == 0:
        return call, f"{call}\n{draw(hostile_calls)}"
    if style <= 2:
        return call, draw(st.sampled_from(FENCES)).replace("{}", call)
    return call, call


# -- parse_call and the text protocol, through Agent.replay ---------------------------------------
REPLAYERS = {
    (name, protocol): Agent(None, task, AgentConfig(protocol=protocol, worked_examples=0, max_invalid=2))
    for name, task in TASKS.items()
    for protocol in ("text", "json")
}
ANSWERS = {"arith": "1", "gsm8k": "1", "folgen": "True"}


def _problem(task: str, solution: list[str]) -> Problem:
    return Problem(id="hostile", task=task, question="Hostile?", answer=ANSWERS[task], solution=solution)


PREFIXES_OK = [
    [],
    [],
    ["Sum(a=1, b=2)"],
    ["Premises(formulas=['Cat(tom)'])"],
    ["Think(thought='First the total.')"],
    ["Answer(answer=1)"],
]


@st.composite
def replayed(draw: st.DrawFn) -> tuple[str, str, list[str], str, str]:
    """A task, a protocol, a valid first step or none, and a hostile call with its reply."""
    task, protocol = draw(st.sampled_from(sorted(REPLAYERS)))
    return task, protocol, draw(st.sampled_from(PREFIXES_OK)), *draw(replies())


# A generated string literal such as '\_' makes ast.parse warn (an invalid escape); harmless.
@pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")
def test_parse_call_and_text_protocol_hostile():
    """parse_call on 10,000 hostile calls and TextProtocol.parse on the replies wrapping them;
    each reply (maybe after a valid step) is then replayed as a gold solution through the
    agent (text protocol, or json protocol via the scripted tool calls it makes of it),
    executing what passes."""
    protocol = TextProtocol()

    def check(case: tuple[str, str, list[str], str, str]) -> list[str]:
        task_name, protocol_name, prefix, call, reply = case
        parsed = _outcome(lambda: parse_call(call))
        if parsed is not None:
            _check_call(parsed)
        read = _outcome(lambda: protocol.parse(Completion(reply)))
        if read is not None:
            _check_call(read)
        task = TASKS[task_name]
        task.ran.clear()
        [chain] = REPLAYERS[task_name, protocol_name].replay([_problem(task_name, [*prefix, reply])])
        _check_chain(chain, task)
        return [
            f"parse_call {'parsed' if parsed else 'refused'}",
            f"text {'parsed' if read else 'refused'}",
            "executed" if any(c.valid for c in chain.calls[len(prefix) :]) else "nothing executed",
        ]

    outcomes = _generate(replayed(), check)
    for label in ("parse_call parsed", "parse_call refused", "text parsed", "text refused", "executed"):
        assert outcomes[label], outcomes


# -- the json protocol: OpenAI tool_calls and Hermes text, through Agent.run -----------------------
class Scripted:
    """A backend that replies with given completions and serialises each request as a server would."""

    name = "scripted"
    window = None

    def __init__(self, native_tools: bool) -> None:
        self.native_tools = native_tools
        self.replies: list[Completion] = []

    def serve(
        self,
        source: TurnSource,
        sampling: Sampling,
        tools: list[dict[str, Any]] | None = None,
        until: Until | None = None,
    ) -> None:
        def complete(turns: list[Turn]) -> list[Completion]:
            json.dumps({"messages": [t.messages for t in turns], "tools": tools}, ensure_ascii=False).encode("utf-8")
            return [self.replies.pop(0) for _ in turns]

        serve_in_lockstep(complete, source, 1)


def _runner(native_tools: bool) -> tuple[Scripted, dict[str, Agent]]:
    """A scripted backend and a json-protocol agent on it for each task."""
    backend = Scripted(native_tools)
    config = AgentConfig(protocol="json", worked_examples=0, max_invalid=5)
    return backend, {name: Agent(backend, task, config) for name, task in TASKS.items()}


def _run(backend: Scripted, agents: dict[str, Agent], task_name: str, completions: list[Completion]) -> Chain:
    """Run the agent on the scripted completions and check its chain."""
    backend.replies = list(completions)
    agent, task = agents[task_name], TASKS[task_name]
    agent.config.n_max = len(completions)
    task.ran.clear()
    [chain] = agent.run([_problem(task_name, ["Answer(answer=1)"])])
    _check_chain(chain, task)
    return chain


def _executed(chain: Chain) -> str:
    return "executed" if any(c.valid for c in chain.calls) else "nothing executed"


# What a JSON decoder makes of an escape like "\ud800": a lone surrogate, not valid Unicode.
LONE_SURROGATES = ["\ud800", "Sum\udfff", "\udc80a"]
VALUE_POOL = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    10**15,
    10**16,
    -(10**15),
    1e308,
    -1e308,
    5e-324,
    float("nan"),
    float("inf"),
    "1,234",
    "$5",
    "3/4",
    "1/0",
    "1e99999999",
    "",
    " ",
    "x" * 100_000,
    "9" * 5000,
    "Cat(tom)",
    "forall x (P(x) -> Q(x))",
    "__import__('os')",
    [],
    {},
    [1, 2],
    {"a": 1},
    [[[[1]]]],
    *LONE_SURROGATES,
]
KEY_POOL = PARAMS + ["", "a b", "__class__", "**", "ａ", "а", *LONE_SURROGATES]
json_scalars = st.one_of(
    st.sampled_from(VALUE_POOL), st.sampled_from(VALUE_POOL), st.integers(), st.floats(), st.text(max_size=8)
)
json_values = st.one_of(
    json_scalars,
    json_scalars,
    json_scalars,
    st.lists(json_scalars, max_size=2),
    st.dictionaries(st.sampled_from(KEY_POOL), json_scalars, max_size=2),
)
name_values = st.one_of(
    st.sampled_from(NAMES),
    st.sampled_from(NAME_POOL + ["", " Sum", "Sum ", "Sum()", *LONE_SURROGATES]),
    st.sampled_from([None, 1, 1.5, True, [], {}, ["Sum"], {"name": "Sum"}]),
)
RAW_JSON = [
    '"\\ud800"',
    '{"\\ud800": 1}',
    '{"a": "\\udfff", "b": 1}',
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    '{"a": NaN, "b": Infinity}',
    '{"a": 1, "a": 2}',
    "{'a': 1}",
    '{"a": 1,}',
    "",
    " ",
    "null",
    "[]",
    '"{}"',
    '"\\"{}\\""',
    '{"__class__": 1}',
    '{"a": 1, "b": 2, "c": 3}',
    '{"": 1}',
    '{"a b": 1}',
    '{"**": {}}',
    "\x00",
    '{"a": "\x00"}',
    *(
        '{"a": ' + opener * n + "1" + close + ', "b": 1}'
        for opener, closer in (("[", "]"), ('{"a": ', "}"), ('{"k": [', "]}"))
        for n in DEPTHS
        for close in (closer * n, "")
    ),
    *('{"a": ' + "9" * n + ', "b": 1}' for n in (15, 16, 400, 1990, 4300, 4301, 100_000)),
]


JSON_ARGUMENTS = {
    Fraction: st.one_of(st.integers(-(10**16), 10**16), st.floats(), st.sampled_from(VALUE_POOL)),
    int: st.one_of(st.integers(-100, 100), st.integers(), st.sampled_from(VALUE_POOL)),
    str: st.one_of(st.text(max_size=20), st.sampled_from(FORMULAS + LONE_SURROGATES), st.sampled_from(VALUE_POOL)),
}
JSON_ARGUMENTS[list[str]] = st.one_of(st.lists(JSON_ARGUMENTS[str], max_size=4), JSON_ARGUMENTS[str])


@st.composite
def signature_json(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A real function and arguments by its parameters (some dropped), of any JSON kind."""
    name, params = draw(st.sampled_from(SIGNATURES))
    return name, {param: draw(JSON_ARGUMENTS[kind]) for param, kind in params if draw(st.integers(0, 9))}


@st.composite
def raw_arguments(draw: st.DrawFn) -> str:
    """Arguments as JSON text: an object of parameters, another JSON value, a pathological
    fragment (broken, deeply nested, huge numbers, escaped surrogates), or a cut-off object."""
    kind = draw(st.integers(0, 4))
    if kind <= 1:
        return json.dumps(draw(st.dictionaries(st.sampled_from(KEY_POOL), json_values, max_size=2)))
    if kind == 2:
        return json.dumps(draw(json_values))
    if kind == 3:
        return draw(st.sampled_from(RAW_JSON))
    text = json.dumps(draw(st.dictionaries(st.sampled_from(PARAMS), json_scalars, min_size=1, max_size=2)))
    return text[: draw(st.integers(0, len(text)))]


@st.composite
def tool_call_entries(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    """OpenAI tool_calls entries (usually one) with arbitrary names and arguments: the
    `function` keys are those every backend writes, their values anything JSON can hold."""
    entries = []
    for _ in range(draw(st.sampled_from([1, 1, 1, 1, 1, 2]))):
        if draw(st.booleans()):
            name, arguments = draw(signature_json())
            function = {"name": name, "arguments": json.dumps(arguments) if draw(st.integers(0, 4)) else arguments}
        else:
            function = {
                "name": draw(name_values),
                "arguments": draw(st.one_of(raw_arguments(), raw_arguments(), json_values)),
            }
        entries.append(
            {"id": draw(st.sampled_from([None, "", "call_1", "x" * 1000])), "type": "function", "function": function}
        )
    return draw(st.sampled_from(sorted(TASKS))), entries


def test_json_tool_calls_hostile():
    """JsonProtocol.parse on 10,000 hostile OpenAI tool_calls, each then run through the agent
    on a scripted native-tools backend."""
    protocol = JsonProtocol()
    backend, agents = _runner(native_tools=True)

    def check(case: tuple[str, list[dict[str, Any]]]) -> list[str]:
        task_name, entries = case
        call = _outcome(lambda: protocol.parse(Completion("", tool_calls=entries)))
        if call is not None:
            _check_call(call)
        return [
            "parsed" if call else "refused",
            _executed(_run(backend, agents, task_name, [Completion("", tool_calls=entries)])),
        ]

    outcomes = _generate(tool_call_entries(), check)
    for label in ("parsed", "refused", "executed"):
        assert outcomes[label], outcomes


BODIES = NESTED + RAW_JSON + PAYLOADS + FORMULAS
HERMES_ENDS = [
    "</tool_call>",
    "</tool_call>",
    "</tool_call>",
    "",
    "</tool_call",
    "<tool_call>",
    "</tool_call></tool_call>",
]
HERMES_FRAMES = [(space, end) for space in ("", "\n", " ", "\n\n  ") for end in HERMES_ENDS]
PROSE = [
    "",
    "",
    "Let me call the tool.\n",
    "Sum(a=1, b=2)\n",
    "<tool_response>5</tool_response>",
    "```json\n",
    "\n```",
    "<tool_call>",
    "</tool_call>",
    "\u202e",
    "\x00",
    " " * 5000,
    "\n" * 3000,
    *PAYLOADS[:5],
]


@st.composite
def hermes_blocks(draw: st.DrawFn) -> str:
    """`<tool_call>{...}</tool_call>`: names and arguments as in tool_calls, arguments as an
    object, as a JSON string, or as a raw fragment; or no JSON at all; maybe cut short."""
    kind = draw(st.integers(-2, 3))
    key = draw(st.sampled_from(["arguments", "arguments", "arguments", "parameters", "args"]))
    if kind < 0:
        name, arguments = draw(signature_json())
        body = json.dumps({"name": name, key: arguments if kind == -1 else json.dumps(arguments)})
    elif kind == 0:
        body = json.dumps(
            {"name": draw(name_values), key: draw(st.dictionaries(st.sampled_from(KEY_POOL), json_values, max_size=2))}
        )
    elif kind == 1:
        body = json.dumps({"name": draw(name_values), key: draw(raw_arguments())})
    elif kind == 2:
        body = '{"name": ' + json.dumps(draw(name_values)) + f', "{key}": ' + draw(raw_arguments()) + "}"
    else:
        body = draw(st.sampled_from(BODIES))  # deep nesting, JSON fragments, Python calls
    if not draw(st.integers(0, 7)):
        body = body[: draw(st.integers(0, len(body)))]
    space, end = draw(st.sampled_from(HERMES_FRAMES))
    return f"<tool_call>{space}{body}{space}{end}"


HERMES_SHAPES = [(task, blocks) for task in sorted(TASKS) for blocks in (0, 1, 1, 1, 1, 1, 1, 2)]
PROSE_AROUND = [(before, after) for before in PROSE for after in PROSE]


@st.composite
def hermes_replies(draw: st.DrawFn) -> tuple[str, str]:
    task, count = draw(st.sampled_from(HERMES_SHAPES))
    before, after = draw(st.sampled_from(PROSE_AROUND))
    return task, before + "\n".join(draw(hermes_blocks()) for _ in range(count)) + after


def test_json_hermes_hostile():
    """JsonProtocol.parse on 10,000 hostile Hermes replies, each then run through the agent on a
    scripted backend without native tools, twice, so the second request renders the first
    turn as Hermes text."""
    protocol = JsonProtocol()
    backend, agents = _runner(native_tools=False)

    def check(case: tuple[str, str]) -> list[str]:
        task_name, text = case
        call = _outcome(lambda: protocol.parse(Completion(text)))
        if call is not None:
            _check_call(call)
        return [
            "parsed" if call else "refused",
            _executed(_run(backend, agents, task_name, [Completion(text), Completion(text)])),
        ]

    outcomes = _generate(hermes_replies(), check)
    for label in ("parsed", "refused", "executed"):
        assert outcomes[label], outcomes


# -- replies that broke the agent before, kept as regression cases ---------------------------------
DIGITS = "9" * 4301  # one digit over Python's limit for int(str): json.loads raises a plain ValueError
NATIVE, HERMES = _runner(native_tools=True), _runner(native_tools=False)


@pytest.mark.parametrize(
    "protocol, reply, message",
    [
        ("text", "Answer(answer='\\ud800')", "lone surrogate"),  # a str the chain file could not hold
        ("text", "Think(thought='a\\udfff')", "lone surrogate"),
        ("text", "Answer(answer={'\\ud800': 1})", "lone surrogate"),
        ("hermes", '<tool_call>{"name": "Answer", "arguments": {"answer": "\\ud800"}}</tool_call>', "lone surrogate"),
        ("hermes", '<tool_call>{"name": "\\ud800", "arguments": {}}</tool_call>', "no valid function name"),
        (
            "hermes",
            '<tool_call>{"name": "Sum", "arguments": {"a": ' + DIGITS + "}}</tool_call>",
            "no valid function name",
        ),
        ("hermes", '<tool_call>{"name": "Sum", "arguments": "{\\"a\\": ' + DIGITS + '}"}</tool_call>', "too long"),
        ("tool_calls", {"name": "Answer", "arguments": '{"answer": "\\ud800"}'}, "lone surrogate"),
        ("tool_calls", {"name": "\ud800", "arguments": "{}"}, "no valid function name"),
        ("tool_calls", {"name": "Answer", "arguments": "\ud800"}, "no valid function name"),
        ("tool_calls", {"name": "Answer", "arguments": {"answer": "\udc80"}}, "no valid function name"),
    ],
    ids=[
        "text-answer",
        "text-think",
        "text-dict-key",
        "hermes-argument",
        "hermes-name",
        "hermes-digits",
        "hermes-digits-in-string",
        "tool-argument",
        "tool-name",
        "tool-raw-arguments",
        "tool-object-arguments",
    ],
)
def test_known_hostile_replies(protocol, reply, message):
    """Each, twice in a chain (a str-typed task), is refused with a message, and the chain can
    be written out and sent on."""
    with guarded():
        if protocol == "text":
            task = TASKS["folgen"]
            task.ran.clear()
            [chain] = REPLAYERS["folgen", "text"].replay([_problem("folgen", [reply, reply])])
            _check_chain(chain, task)
        elif protocol == "hermes":
            chain = _run(*HERMES, "folgen", [Completion(reply), Completion(reply)])
        else:
            tool_call = {"id": "c1", "type": "function", "function": reply}
            chain = _run(*NATIVE, "folgen", [Completion("", tool_calls=[tool_call])] * 2)
    assert [c.valid for c in chain.calls] == [False, False]
    assert message in chain.calls[0].result, chain.calls[0].result


# -- the FOL parser ------------------------------------------------------------------------------
FOL_TOKENS = [
    "P",
    "Q(a)",
    "Cat(x)",
    "Likes(x, y)",
    "R(a, b, c)",
    "a",
    "x",
    "y1",
    "tom",
    "gpt-3",
    "mr.smith",
    "c++",
    "(",
    ")",
    ",",
    "~",
    "!",
    "¬",
    "&",
    "∧",
    "|",
    "∨",
    "xor",
    "⊕",
    "⊻",
    "->",
    "→",
    "⇒",
    "<->",
    "↔",
    "⟷",
    "⇔",
    "=",
    "!=",
    "≠",
    ":",
    ".",
    "forall x",
    "exists y",
    "∀x",
    "∃y",
    "forall",
    "exists",
    "∀",
    "not",
    "and",
    "or",
    "implies",
    "iff",
    "^",
    " ",
    "\n",
    "Ɐx",
    "（",
    "）",
    "＆",
    "\u202e",
    "\u200d",
    "\x00",
    "\u0301",
    "١",
    "P١",
    "'",
    "’",
    "-",
    "_",
    "\\",
    "$",
    "⊤",
    "⊥",
]
FOL_DEPTHS = [1, 2, 39, 40, 41, 99, 100, 101, 222, 500, 1000, 1999, 2000, 5000, 100_000]


def _pathological(kind: int, n: int) -> str:
    """Deep nesting, long chains, huge quantifier prefixes, predicates with many arguments."""
    return [
        "(" * n + "P(a)" + ")" * n,
        "(" * n + "P(a)",
        "P(a)" + ")" * n,
        "~" * n + "P(a)",
        "¬" * n + "P(a)",
        "not " * n + "P(a)",
        "forall x " * n + "P(x)",
        "".join(f"{'∀∃'[i % 2]}x{i} " for i in range(min(n, 3000))) + "(P(x0))",
        "∀x (" * n + "P(x)" + ")" * n,
        " & ".join(["P(a)"] * min(n, 3000)),
        " -> ".join(["P(a)"] * min(n, 3000)),
        " <-> ".join(["P(a)"] * min(n, 3000)),
        "P(" + ", ".join(["a"] * min(n, 3000)) + ")",
        "P" * n,
        "x" * n,
    ][kind]


PATHOLOGICAL = [_pathological(kind, n) for kind in range(15) for n in FOL_DEPTHS]
fol_texts = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(FOL_TOKENS), max_size=12).map(" ".join),
    st.lists(st.sampled_from(FOL_TOKENS), max_size=12).map("".join),
    st.sampled_from(PATHOLOGICAL),
    st.sampled_from(PATHOLOGICAL),
    st.sampled_from(PAYLOADS + FORMULAS),
)


def test_fol_parser_hostile():
    """parse_formula on 10,000 hostile formulas; each then recorded with Premises."""
    task = TASKS["folgen"]
    functions = [task.functions()]  # a fresh set once a premise is recorded

    def check(text: str) -> list[str]:
        formula = _outcome(lambda: parse_formula(text), FolSyntaxError)
        task.ran.clear()
        try:
            result = functions[0].execute(Call("Premises", kwargs={"formulas": [text]})).result
        except CallError as exc:
            assert str(exc).startswith("Premises: ")
            assert formula is None or "predicate" in str(exc), str(exc)  # an arity clash within the formula
            return ["refused"]
        functions[0] = task.functions()
        assert (
            formula is not None and result == "Recorded premise 1." and task.ran == [("Premises", {"formulas": [text]})]
        )
        return ["parsed", *_check_formula(formula)]

    outcomes = _generate(fol_texts, check)
    assert outcomes["parsed"] and outcomes["refused"], outcomes


def _check_formula(formula: Formula) -> list[str]:
    """Within the depth limit, and both printed forms read back as the same tree. Known
    exception: printing adds parentheses (a quantifier's scope, ∨ next to ⊕), so a formula
    accepted right at the nesting limit can print one level over it; that is counted."""
    assert depth(formula) <= MAX_DEPTH
    over = []
    for printed in (to_unicode(formula), to_ascii(formula)):
        try:
            assert parse_formula(printed) == formula
        except FolSyntaxError as exc:
            assert "too long" in str(exc) or "nested too deeply" in str(exc), (printed, exc)
            over.append("printed form over a limit")
    return over


# -- nesting depths, swept exhaustively -------------------------------------------------------
@pytest.mark.parametrize("opener, closer", [("[", "]"), ("(", ")"), ('{"a": ', "}"), ("~", "")])
def test_every_nesting_depth(opener, closer):
    """Every depth up to past each limit (the JSON decoder's recursion limit, Python's parser,
    the literal and formula bounds), closed and unclosed, in every parser."""
    text_protocol, json_protocol = TextProtocol(), JsonProtocol()
    functions = TASKS["gsm8k"].functions()
    python_depths = {*range(1, 260), *range(260, 2100, 17)}
    with guarded():
        for n in [*range(1, 1300), *range(1300, 2100, 7)]:
            for close in (closer * n, ""):
                value = opener * n + "1" + close
                attempts = [
                    lambda: json_protocol.parse(
                        Completion("", tool_calls=[{"function": {"name": "Sum", "arguments": '{"a": ' + value + "}"}}])
                    ),
                    lambda: json_protocol.parse(
                        Completion('<tool_call>{"name": "Sum", "arguments": {"a": ' + value + "}}</tool_call>")
                    ),
                ]
                if n in python_depths:
                    formula = (
                        opener.replace("[", "(").replace("{", "(") * n
                        + "P(a)"
                        + close.replace("]", ")").replace("}", ")")
                    )
                    _outcome(lambda: parse_formula(formula), FolSyntaxError)
                    attempts += [
                        lambda: parse_call(f"Sum(a={value}, b=1)"),
                        lambda: text_protocol.parse(Completion(f"```\nSum(a={value}, b=1)\n```")),
                    ]
                for attempt in attempts:
                    call = _outcome(attempt)
                    if call is not None:
                        _check_call(call)
                        _outcome(lambda: functions.execute(call))


@pytest.mark.parametrize(
    "parse",
    [
        lambda text: TextProtocol().parse(Completion(text)),
        lambda text: JsonProtocol().parse(Completion(text)),
        lambda text: JsonProtocol().assistant_message(Completion(text), 1),
    ],
    ids=["text", "hermes", "hermes-message"],
)
@pytest.mark.parametrize(
    "text",
    [
        lambda n: "x" + " " * n + "y",
        lambda n: "Sum(a=1, b=2)" + " \t" * (n // 2) + "```x",
        lambda n: "<tool_call>x" + " " * n + "y",
        lambda n: "<tool_call>" * (n // 10),
        lambda n: "<tool_call>{" + "\n" * n + "}",
        lambda n: "x\n" * (n // 10),
    ],
    ids=["spaces", "fence", "hermes-spaces", "hermes-opens", "hermes-newlines", "lines"],
)
def test_long_replies_take_linear_time(parse, text):
    """Replies of 200,000 characters are read in time linear in their length (no regex
    backtracking blow-up): 4x the text takes well under 16x the time (best of 3, one run)."""

    def seconds(n: int) -> float:
        reply, best = text(n), float("inf")
        for _ in range(3):
            start = time.perf_counter()
            with guarded():
                _outcome(lambda: parse(reply))
            best = min(best, time.perf_counter() - start)
        return best

    small, large = seconds(50_000), seconds(200_000)
    assert large < 8 * small + 0.05, (small, large)  # linear: ~4x; quadratic: ~16x


# -- bounded functions ---------------------------------------------------------------------------
BIG = 10**4000 + 7


@pytest.mark.parametrize(
    "call, expected",
    [
        (Call("Power", kwargs={"base": 10, "exponent": 10**6}), "exponent must be between"),
        (Call("Power", kwargs={"base": 10**15, "exponent": 64}), "out of range"),
        (Call("Power", kwargs={"base": "0.000000000001", "exponent": -64}), "out of range"),
        (Call("Power", kwargs={"base": 0, "exponent": -1}), "division by zero"),
        (Call("Power", kwargs={"base": 2, "exponent": 2**64}), "exponent must be between"),
        (Call("Multiply", kwargs={"a": BIG, "b": BIG}), "out of range"),
        (Call("Multiply", kwargs={"a": 10**15, "b": 10**15}), "out of range"),
        (Call("Multiply", kwargs={"a": Fraction(1, BIG), "b": Fraction(BIG - 1, BIG)}), None),
        (Call("Sum", kwargs={"a": 1e308, "b": 1e308}), "out of range"),
        (Call("Sum", kwargs={"a": float("inf"), "b": 1}), "finite"),
        (Call("Sum", kwargs={"a": float("nan"), "b": 1}), "finite"),
        (Call("Sum", kwargs={"a": "1e99999999", "b": 1}), "expected a number"),
        (Call("Sum", kwargs={"a": "9" * 100_000, "b": 1}), "expected a number"),
        (Call("Sum", kwargs={"a": True, "b": 1}), "boolean"),
        (Call("Divide", kwargs={"a": 1, "b": 0}), "division by zero"),
        (Call("Divide", kwargs={"a": 1, "b": "0/1"}), "division by zero"),
        (Call("Divide", kwargs={"a": 1, "b": "1/0"}), "divides by zero"),
        (Call("Divide", kwargs={"a": 1, "b": 1e-300}), "division by zero"),
        (Call("Divide", kwargs={"a": 10**15, "b": 1e-12}), "out of range"),
        (Call("Round", kwargs={"x": 2.5, "places": 10**100}), "places must be between"),
        (Call("Round", kwargs={"x": 2.5, "places": -(10**100)}), "places must be between"),
        (Call("Round", kwargs={"x": 2.5, "places": 1e308}), "invalid argument 'places'"),
        (Call("Round", kwargs={"x": 2.5, "places": 12}), None),
        (Call("Percent", kwargs={"percent": 10**15, "of": 10**15}), "out of range"),
        (Call("Floor", kwargs={"x": -(10**15)}), None),
        (Call("Answer", kwargs={"answer": BIG}), "out of range"),
    ],
    ids=lambda v: (
        f"{v.name}-{'-'.join(f'{k}={str(x)[:10]}' for k, x in v.kwargs.items())}" if isinstance(v, Call) else None
    ),
)
def test_bounded_numbers(call, expected):
    """Each call comes back as a result or an error message, fast, never as an exception."""
    start = time.perf_counter()
    with guarded():
        try:
            result = TASKS["gsm8k"].functions().execute(call).result
        except CallError as exc:
            result = str(exc)
            assert expected is not None and expected in result, result
        else:
            assert expected is None, result
    assert isinstance(result, str) and len(result) < 600
    assert time.perf_counter() - start < 10  # bounded: a blow-up (e.g. 10**100 digits) takes far longer


def _fol(timeout_s: float, premises: list[str], conclusion: str) -> tuple[str, float]:
    """Record the premises and check the conclusion; the text the model gets back, and how long."""
    functions = fol_functions(timeout_s)
    start = time.perf_counter()
    results = []
    with guarded():
        for call in [Call("Premises", kwargs={"formulas": premises}), Call("Check", kwargs={"conclusion": conclusion})]:
            try:
                results.append(functions.execute(call).result)
            except CallError as exc:
                results.append(f"Error: {exc}")
    return " | ".join(results), time.perf_counter() - start


def _chain(op: str, n: int) -> str:
    return op.join(["P(a)"] * n)


ENDLESS = ["∀x ∃y Lt(x, y)", "∀x ¬Lt(x, x)", "∀x ∀y ∀z (Lt(x, y) ∧ Lt(y, z) → Lt(x, z))"]
QUANTIFIERS = "".join(f"{'∀' if i % 2 else '∃'}x{i} " for i in range(39))


@pytest.mark.parametrize(
    "premises, conclusion, expected",
    [
        (["(" * 2000 + "P(a)" + ")" * 2000], "P(a)", "too long"),
        (["(" * 41 + "P(a)" + ")" * 41], "P(a)", "nested too deeply"),
        (["~" * 1000 + "P(a)"], "P(a)", "nested too deeply"),
        ([_chain(" & ", 101)], "P(a)", "nested too deeply"),
        ([_chain(" & ", 100)], "P(a)", "True"),
        ([_chain(" -> ", 100)], "P(a)", "Uncertain"),
        ([_chain(" <-> ", 100)], "P(a)", "Uncertain"),
        (["forall x " * 41 + "P(x)"], "P(a)", "nested too deeply"),
        (
            [QUANTIFIERS + "(R(" + ", ".join(f"x{i}" for i in range(39)) + "))"],
            "R(" + ", ".join(["a"] * 39) + ")",
            None,
        ),
        (
            ["P(" + ", ".join(f"c{i}" for i in range(300)) + ")"],
            "P(" + ", ".join(f"c{i}" for i in range(300)) + ")",
            "True",
        ),
        (["P(a)", "P(a, b)"], "P(a)", "predicate P has 1 argument"),
        (["P(a)", "~P(a)"], "Q(a)", "contradict each other"),
        ([f"P{i}(a)" for i in range(MAX_PREMISES + 1)], "P0(a)", f"at most {MAX_PREMISES} premises"),
        (["∀x (P(x) ↔ ¬P(x))"], "Q(a)", "contradict each other"),
        (["P(a)"], "\x00", "unexpected character"),
        (["P(a)"], "Ѕ(a) ∧ P(a)", "Uncertain"),
        (["P(a)"], "\u202eP(a)", "unexpected character"),
        (["P(a)"], "P(x)", "not bound"),
    ],
)
def test_pathological_formulas(premises, conclusion, expected):
    """Deep, long, wide and contradictory formulas: a verdict or an error message, in bounded time."""
    timeout_s = 0.5
    text, seconds = _fol(timeout_s, premises, conclusion)
    if expected is not None:
        assert expected in text, text
    assert seconds < 2 * (timeout_s + WATCHDOG_GRACE_S) + 2  # two checks, each bounded, and some slack


def test_prover_time_out():
    """With the smallest time limit z3 takes (1 ms), premises only infinite models satisfy
    give a time-out message, not an exception, within the watchdog's bound."""
    timeout_s = 0.001
    text, seconds = _fol(timeout_s, ENDLESS, "Big(a)")
    assert text.endswith("Error: Check: the prover ran out of time (0.001 s); try simpler formulas"), text
    assert seconds < 2 * (timeout_s + WATCHDOG_GRACE_S) + 2
