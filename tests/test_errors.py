"""One exception tree, one status per code: every error class lives in errors.py and is drawn in its
docstring, and no error code is raised anywhere with two different HTTP statuses."""

import ast
import importlib
import inspect
import pkgutil
from collections import defaultdict
from pathlib import Path

import airrc
from airrc import errors
from airrc.errors import Error, http_status

PACKAGE = Path(airrc.__file__).parent


def _import_everything() -> None:
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="airrc."):
        if ".migrations" not in info.name and not info.name.endswith("__main__"):
            importlib.import_module(info.name)


def _all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_all_subclasses(sub)}
    return found


def test_every_error_class_is_defined_in_errors_and_drawn_in_its_tree():
    _import_everything()
    ours = {c for c in _all_subclasses(Error) if c.__module__.startswith("airrc")}
    elsewhere = sorted(f"{c.__module__}.{c.__qualname__}" for c in ours if c.__module__ != "airrc.errors")
    assert elsewhere == []
    drawn = set(errors.__doc__.split())
    assert sorted(c.__name__ for c in ours if c.__name__ not in drawn) == []
    assert {c.__name__ for c in ours} <= set(errors.__all__)


def _raised_codes() -> dict[str, set[tuple[int, str]]]:
    """code -> {(status, where)} for every ``Cls(..., code="literal")`` with Cls an error class."""
    classes = {
        name: obj for name, obj in vars(errors).items() if inspect.isclass(obj) and issubclass(obj, Error)
    }
    seen: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in classes
            ):
                continue
            cls = classes[node.func.id]
            code = next((k.value for k in node.keywords if k.arg == "code"), None)
            if isinstance(code, ast.Constant) and isinstance(code.value, str):
                instance = cls.__new__(cls)
                Error.__init__(instance, "probe", code=code.value)
                where = f"{path.relative_to(PACKAGE)}:{node.lineno} {cls.__name__}"
                seen[code.value].add((http_status(instance), where))
    return seen


def test_each_code_has_one_http_status_wherever_it_is_raised():
    seen = _raised_codes()
    assert len(seen) > 150  # the walk found the code base's raise sites
    conflicts = {code: sorted(uses) for code, uses in seen.items() if len({s for s, _ in uses}) > 1}
    assert conflicts == {}


def test_default_codes_have_one_status_too():
    by_code: dict[str, set[int]] = defaultdict(set)
    for cls in [c for c in vars(errors).values() if inspect.isclass(c) and issubclass(c, Error)]:
        if cls.__init__ is Error.__init__:
            by_code[cls.default_code].add(http_status(cls("probe")))
    assert {c: s for c, s in by_code.items() if len(s) > 1} == {}
