"""The bad-input catalogue: every case gets a named error, a visible flag, or a correct answer.

Data: ``tests/data/bad_inputs/*.json`` (see its README). One parametrised test;
a case fails on a crash (an exception that is not a NeuroguideError, or a CLI
traceback), a silent wrong answer, an error that does not name the field, or a
missing flag.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import math
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import neuroguide as ng
from neuroguide.units import parse_quantity, parse_unit

DATA = Path(__file__).parent / "data" / "bad_inputs"
if not DATA.is_dir():  # draft location
    DATA = Path(__file__).parent


def _cases() -> Iterator[Any]:
    for path in sorted(DATA.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for case in doc["cases"]:
            yield pytest.param(doc["surface"], case, id=f"{doc['surface']}:{case['id']}")


def _decode(value: Any) -> Any:
    """Turn the catalogue's tagged values ($q, $date, $float, ...) into Python objects."""
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, arg),) = value.items()
        if tag == "$q":
            return ng.Q_(float(arg[0]), arg[1]) if arg[1] != "MG" else _foreign_q(arg)
        if tag == "$date":
            return dt.date.fromisoformat(arg)
        if tag == "$float":
            return float(arg)
        if tag == "$bytes":
            return arg.encode()
        if tag == "$tuple":
            return tuple(_decode(a) for a in arg)
        if tag == "$patient":
            return ng.Patient.from_dict({k: v for k, v in arg.items() if v is not None})
    return {k: _decode(v) for k, v in value.items()}


def _foreign_q(arg: list[Any]) -> Any:
    import pint

    return pint.UnitRegistry().Quantity(float(arg[0]), arg[1])


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def _flags(obj: Any) -> list[str]:
    found = getattr(obj, "flags", None)
    if found is None and hasattr(obj, "record"):
        found = getattr(obj.record, "flags", None)
    return [str(f) for f in (found or ())]


def _run(surface: str, case: Mapping[str, Any], tmp: Path) -> tuple[Any, str]:
    """Run one case; return (result, text shown to a user) or raise."""
    if surface == "patient":
        as_of = dt.date.fromisoformat(case["as_of"])
        patient = ng.Patient.from_json(case["text"]) if "text" in case else ng.Patient.from_dict(case["patient"])
        result = ng.assess(patient, as_of=as_of)
        return result, "\n".join(_flags(result))
    if surface == "units":
        value = case["text"] if "text" in case else _decode(case["value"])
        return parse_quantity(value, case["field"], case.get("dimension")), ""
    if surface == "dose":
        call = {k: _decode(v) for k, v in case["call"].items()}
        verdict = ng.check_dose(**call)
        return verdict, "\n".join([*_flags(verdict), *verdict.notes, verdict.message])
    if surface == "calculators":
        fn = ng.calculators.REGISTRY[case["calculator"]]
        calc = fn(**_decode(case["kwargs"]))
        return calc, "\n".join([*_flags(calc), calc.interpretation])
    if surface == "cli":
        return _run_cli(case, tmp)
    if surface == "toml":
        return _run_toml(case, tmp)
    if surface == "records":
        return _run_record(case)
    raise AssertionError(surface)


def _guidelines_copy(tmp: Path) -> Path:
    from neuroguide._loading import guideline_root

    root = tmp / "guidelines"
    if not root.exists():
        with _as_path(guideline_root()) as src:
            shutil.copytree(src, root)
    return root


@contextlib.contextmanager
def _as_path(traversable: Any) -> Iterator[Path]:
    from importlib.resources import as_file

    with as_file(traversable) as p:
        yield Path(p)


def _relock(root: Path, name: str) -> None:
    lock_path = root / "lock.json"
    lock = json.loads(lock_path.read_text(encoding="utf-8"))
    lock["files"][name] = hashlib.sha256((root / name).read_bytes()).hexdigest()
    lock_path.write_text(json.dumps(lock, indent=2) + "\n", encoding="utf-8")


def _edit(path: Path, edits: list[list[str]], append_hex: str | None = None) -> None:
    text = path.read_text(encoding="utf-8")
    for find, replace in edits:
        assert find in text, f"catalogue edit target not found in {path.name}: {find!r}"
        text = text.replace(find, replace, 1)
    data = text.encode("utf-8") + (bytes.fromhex(append_hex) if append_hex else b"")
    path.write_bytes(data)


def _run_toml(case: Mapping[str, Any], tmp: Path) -> tuple[Any, str]:
    root = _guidelines_copy(tmp)
    name = case["file"]
    target = root / case.get("copy_to", name)
    if case.get("delete"):
        target.unlink()
    else:
        if "copy_to" in case:
            shutil.copyfile(root / name, target)
        _edit(target, case.get("edits", []), case.get("append_hex"))
        if case.get("relock"):
            _relock(root, case.get("copy_to", name))
    kwargs = {"allow_unlocked": True} if case.get("allow_unlocked") else {}
    cat = ng.Catalog(root, **kwargs)
    cat.all()
    # exercise the loaded data, so a file that loads but breaks evaluation is caught
    result = ng.assess(_EXAMPLE, as_of=dt.date(2026, 11, 23), source=cat)
    ng.check_dose("gabapentin", "300 mg", per="day", crcl="45 mL/min", source=cat)
    return result, "\n".join(_flags(result))


_EXAMPLE = {
    "birth_date": "1960-03-14",
    "sex": "male",
    "diabetes": {"type": "type-2", "diagnosed": "2012-05-02"},
    "findings": {
        "numbness": True,
        "burning-pain": True,
        "distal-symmetric-pattern": True,
        "monofilament-abnormal": True,
    },
    "measurements": {"weight": "88 kg", "serum-creatinine": "1.1 mg/dL", "systolic-drop": "25 mmHg", "hba1c": "7.4 %"},
    "medications": [
        {"agent": "gabapentin", "dose": "2000 mg", "per": "day"},
        {"agent": "oxaliplatin", "cumulative": "600 mg/m2"},
    ],
}


class _CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


def _run_cli(case: Mapping[str, Any], tmp: Path) -> tuple[Any, str]:
    from neuroguide.cli import main

    groot = None
    for name, content in case.get("files", {}).items():
        if name.startswith("{guidelines}"):
            groot = _guidelines_copy(tmp)
            path = groot / name.removeprefix("{guidelines}/")
        else:
            path = tmp / name
        if isinstance(content, dict) and "$edit" in content:
            _edit(path, [content["$edit"]])
        elif isinstance(content, dict) and "$bytes_latin1" in content:
            path.write_bytes(content["$bytes_latin1"].encode("latin-1"))
        elif isinstance(content, dict) and "$bytes_utf16" in content:
            path.write_bytes(content["$bytes_utf16"].encode("utf-16"))
        elif isinstance(content, dict) and "$record" in content:
            record = ng.assess({"age": 60}, as_of=dt.date(2026, 11, 23)).record.to_dict()
            record.update(content["$record"])
            path.write_text(json.dumps(record), encoding="utf-8")
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
    if "{guidelines}" in " ".join(case["argv"]):
        groot = _guidelines_copy(tmp)
    argv = [a.replace("{tmp}", str(tmp)).replace("{guidelines}", str(groot)) for a in case["argv"]]
    out, err = io.StringIO(), io.StringIO()
    stdin = io.StringIO(case.get("stdin", ""))
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), _stdin(stdin):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0)
    # the real console encodes as UTF-8: a lone surrogate must not reach it
    out.getvalue().encode("utf-8")
    err.getvalue().encode("utf-8")
    return _CliResult(code, out.getvalue(), err.getvalue()), out.getvalue() + err.getvalue()


@contextlib.contextmanager
def _stdin(stream: io.StringIO) -> Iterator[None]:
    import sys

    old = sys.stdin
    sys.stdin = stream
    try:
        yield
    finally:
        sys.stdin = old


def _run_record(case: Mapping[str, Any]) -> tuple[Any, str]:
    if "record_file" in case:
        path = Path(__file__).parent / case["record_file"].removeprefix("tests/")
        if not path.exists():
            pytest.skip(f"{case['record_file']} not committed yet")
        report = ng.replay(json.loads(path.read_text(encoding="utf-8")))
        return report, "\n".join(report.differences)
    if "patient" in case:
        record = ng.assess(case["patient"], as_of=dt.date(2026, 11, 23)).record
        report = ng.replay(json.loads(record.to_json()))
        return report, "\n".join(report.differences)
    example = json.loads((Path(__file__).parents[1] / "examples" / f"{case['base']}.json").read_text(encoding="utf-8"))
    data = ng.assess(example, as_of=dt.date(2026, 11, 23)).record.to_dict()
    data.update(case["change"])
    report = ng.replay(data)
    return report, "\n".join(report.differences)


def _attempt(surface: str, case: Mapping[str, Any], tmp: Path) -> tuple[Any, str, ng.NeuroguideError | None]:
    try:
        result, shown = _run(surface, case, tmp)
    except ng.NeuroguideError as exc:
        return None, "", exc
    return result, shown, None


def _check_error(expect: Mapping[str, Any], exc: ng.NeuroguideError) -> None:
    if "type" in expect:
        names = {c.__name__ for c in type(exc).__mro__}
        assert expect["type"] in names, f"expected {expect['type']}, got {type(exc).__name__}: {exc}"
    for name in expect["names"]:
        assert name in str(exc), f"the error does not name {name!r}: {exc}"


@pytest.mark.parametrize(("surface", "case"), list(_cases()))
def test_bad_input(surface: str, case: Mapping[str, Any], tmp_path: Path) -> None:
    expect = case["expect"]
    kind = expect["class"]
    result, shown, exc = _attempt(surface, case, tmp_path)
    if exc is not None:
        assert kind == "error", f"refused, but expected {kind}: {exc}"
        _check_error(expect, exc)
        return
    if isinstance(result, _CliResult):
        assert "Traceback" not in shown, shown
        if "exit" in expect:
            assert result.code == expect["exit"], f"exit {result.code}, expected {expect['exit']}: {shown}"
        if kind in ("error", "flagged"):
            for name in expect["names"]:
                assert name in shown, f"output does not name {name!r}: {shown}"
        return
    assert kind != "error", f"accepted, but expected an error naming {expect['names']}: {shown or result!r}"[:2000]
    facts = getattr(getattr(result, "record", None), "facts", {})
    if kind == "flagged":
        assert shown, "no visible flag"
        for name in expect["names"]:
            assert name in shown, f"no flag naming {name!r}: {shown}"
        for fact in expect.get("withheld", ()):
            assert fact not in facts, f"{fact} was interpreted ({facts[fact]!r}) despite the flag"
        return
    # accepted: a correct answer, and no input flag
    assert not _flags(result), f"unexpected flag: {_flags(result)}"
    for fact, value in expect.get("facts", {}).items():
        assert fact in facts, f"{fact} missing from the facts"
        assert _close(facts[fact], value), f"{fact}: {facts.get(fact)!r}, expected {value!r}"
    for rule in expect.get("rules", ()):
        assert result.by_rule(rule) is not None, f"rule {rule} did not fire"
    if "verdict" in expect:
        assert str(result.verdict) == expect["verdict"], f"{result.verdict}, expected {expect['verdict']}"
    if "value" in expect:
        value = result.value if not hasattr(result, "to") else result.to(parse_unit(expect["unit"])).magnitude
        value = getattr(value, "magnitude", value)
        assert _close(float(value), expect["value"]), f"{value}, expected {expect['value']}"
    if "identical" in expect:
        assert result.identical is expect["identical"], f"replay differs: {result.differences}"
