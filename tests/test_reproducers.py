"""Issue 13's reproducers, one test each (the bad-input catalogue holds these and many more).

Duplicate therapy (the same ingredient under several names) is tested with the dosing safety work.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest

import neuroguide as ng
from neuroguide import _dist, _loading
from neuroguide.cli import main

AS_OF = dt.date(2026, 11, 23)


def _flags(result: ng.Assessment) -> dict[str, str]:
    return {f.field: f.kind.value for f in result.flags}


@pytest.mark.parametrize(
    ("fact", "text", "classified"),
    [
        ("hba1c", "6.5 mmol/mol", "ada-dx-hba1c"),
        ("fasting-glucose", "15 mg/dL", "ada-dx-fasting-glucose"),
        ("random-glucose", "11.1 mg/dL", "ada-dx-random-glucose"),
        ("ogtt-2h-glucose", "11.1 mg/dL", "ada-dx-ogtt-2h"),
    ],
)
def test_glycaemic_unit_mixups_are_flagged_never_read_as_normal(fact: str, text: str, classified: str) -> None:
    result = ng.assess({"measurements": {fact: text}}, as_of=AS_OF)
    assert _flags(result) == {f"measurements.{fact}": "probable-unit-error"}
    assert classified not in result.record.facts
    assert result.by_rule(classified) is None


def test_creatinine_35_labelled_mg_dl_is_flagged_and_gives_no_clearance() -> None:
    patient = {"age": 80, "sex": "female", "measurements": {"weight": "50 kg", "serum-creatinine": "35 mg/dL"}}
    result = ng.assess(patient, as_of=AS_OF)
    assert _flags(result) == {"measurements.serum-creatinine": "probable-unit-error"}
    assert "crcl" not in result.record.facts
    cg = ng.calculators.cockcroft_gault(age=80, weight="50 kg", serum_creatinine="35 mg/dL", sex="female")
    assert cg.flags and "PROBABLE UNIT ERROR" in cg.interpretation


def test_fractional_iwgdf_category_is_refused() -> None:
    with pytest.raises(ng.InputError, match="measurements.iwgdf-category.*whole number"):
        ng.Patient.from_dict({"measurements": {"iwgdf-category": 2.5}})


@pytest.mark.parametrize("born", ["1900-01-01", "1800-01-01"])
def test_placeholder_birth_dates_are_flagged_and_give_no_age(born: str) -> None:
    patient = {
        "birth_date": born,
        "sex": "male",
        "measurements": {"weight": "70 kg", "serum-creatinine": "1.0 mg/dL"},
        "medications": [{"agent": "gabapentin", "dose": "900 mg", "per": "day"}],
    }
    result = ng.assess(patient, as_of=AS_OF)
    assert _flags(result) == {"birth_date": "placeholder-date"}
    assert "age" not in result.record.facts and "crcl" not in result.record.facts
    verdict = ng.check_dose("gabapentin", "900 mg", per="day", patient=ng.Patient.from_dict(patient), as_of=AS_OF)
    assert verdict.crcl is None
    assert any("birth_date" in note for note in verdict.notes)


def test_age_over_120_from_birth_date_is_refused() -> None:
    with pytest.raises(ng.InputError, match="birth_date"):
        ng.assess({"birth_date": "1901-06-15"}, as_of=AS_OF)


def test_as_of_before_every_guideline_is_refused_with_the_range() -> None:
    with pytest.raises(ng.InputError, match="as_of.*2012-04-01"):
        ng.assess({"age": 60}, as_of=dt.date(1926, 11, 23))
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = _stdin_main('{"age": 60}')
    assert code == 2
    assert "2012-04-01" in err.getvalue()


def _stdin_main(text: str) -> int:
    import sys

    old = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        return main(["assess", "-", "--as-of", "1926-11-23"])
    finally:
        sys.stdin = old


def test_nan_dose_through_the_api_is_refused() -> None:
    with pytest.raises(ng.UnitError, match="dose"):
        ng.check_dose("gabapentin", ng.Q_(float("nan"), "mg"), per="day", crcl="90 mL/min")


def test_duplicate_medications_key_is_an_error_not_a_dropped_list() -> None:
    text = '{"medications": [{"agent": "oxaliplatin", "cumulative": "1200 mg/m2"}], "medications": []}'
    with pytest.raises(ng.InputError, match="medications"):
        ng.Patient.from_json(text)


def test_given_crcl_contradicting_the_inputs_is_flagged_with_both_values() -> None:
    patient = {
        "age": 90,
        "sex": "female",
        "measurements": {"weight": "40 kg", "serum-creatinine": "3.0 mg/dL", "crcl": "200 mL/min"},
    }
    result = ng.assess(patient, as_of=AS_OF)
    (flag,) = result.flags
    assert flag.field == "measurements.crcl" and "200" in flag.message and "7.9" in flag.message
    assert "crcl" not in result.record.facts


def test_age_contradicting_the_birth_date_is_refused_naming_both() -> None:
    with pytest.raises(ng.InputError, match="measurements.age.*birth_date"):
        ng.assess({"birth_date": "1940-01-15", "measurements": {"age": "30 year"}}, as_of=AS_OF)
    with pytest.raises(ng.InputError, match="age.*birth_date"):
        ng.assess({"birth_date": "1960-05-01", "age": 30}, as_of=AS_OF)


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "guidelines"
    with contextlib.ExitStack() as stack:
        from importlib.resources import as_file

        src = stack.enter_context(as_file(_loading.guideline_root()))
        shutil.copytree(src, root)
    return root


def _relock(root: Path, name: str) -> None:
    lock = json.loads((root / "lock.json").read_text(encoding="utf-8"))
    lock["files"][name] = hashlib.sha256((root / name).read_bytes()).hexdigest()
    (root / "lock.json").write_text(json.dumps(lock), encoding="utf-8")


def test_an_unlisted_newer_version_is_refused_by_default(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    text = (root / "drug-dosing" / "2026.1.toml").read_text(encoding="utf-8")
    # A version number no released file uses (2026.2 and 2026.3 are released and locked).
    newer = text.replace('version = "2026.1"', 'version = "2026.9"').replace(
        "effective = 2026-05-12", "effective = 2026-06-01"
    )
    (root / "drug-dosing" / "2026.9.toml").write_text(newer.replace("1400 mg", "2400 mg"), encoding="utf-8")
    with pytest.raises(ng.IntegrityError, match="drug-dosing/2026.9.toml"):
        ng.Catalog(root)
    authoring = ng.Catalog(root, allow_unlocked=True)
    record = ng.assess({"age": 60}, as_of=AS_OF, source=authoring).record
    assert record.unlocked == ("drug-dosing/2026.9.toml",)
    assert any(f.kind.value == "unlocked" for f in record.flags)


def test_a_deleted_or_altered_file_is_refused(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "ada-neuropathy" / "2026.1.toml").unlink()
    with pytest.raises(ng.IntegrityError, match="ada-neuropathy/2026.1.toml: listed in lock.json but missing"):
        ng.Catalog(root)


@pytest.mark.parametrize(
    ("find", "replace", "key"),
    [
        ('per = "1 day"', 'per = "-1 day"', "per"),
        ('per = "1 day"', 'per = "0 day"', "per"),
        ('dose_max = "500 ug"', 'dose_max = "500 ug("', "dose_max"),
    ],
)
def test_validate_refuses_semantically_broken_dosing(tmp_path: Path, find: str, replace: str, key: str) -> None:
    path = tmp_path / "drug-dosing" / "2026.1.toml"
    path.parent.mkdir()
    text = (_loading.guideline_root() / "drug-dosing" / "2026.1.toml").read_text(encoding="utf-8")
    path.write_text(text.replace(find, replace, 1), encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stderr(out), contextlib.redirect_stdout(out):
        assert main(["validate", str(path)]) == 2
    assert key in out.getvalue()


def test_threshold_abc_is_refused_at_load(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    name = "ada-neuropathy/2026.1.toml"
    text = (root / name).read_text(encoding="utf-8")
    (root / name).write_text(text.replace('value = "20 mmHg"', 'value = "abc"', 1), encoding="utf-8")
    _relock(root, name)
    with pytest.raises(ng.GuidelineDataError, match=r"ada-neuropathy/2026\.1\.toml.*value"):
        ng.Catalog(root)


def test_installed_wheel_record_catches_a_file_rehashed_into_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file edited together with its lock entry still differs from the hash the installer recorded."""

    recorded = {"thiamine/2012.1.toml": ("sha256", "not-the-hash")}
    monkeypatch.setattr(_dist, "recorded_hashes", lambda prefix: recorded)
    (row,) = _loading._installed_mismatches(_loading.guideline_root())
    assert row[0] == "thiamine/2012.1.toml"


def test_the_packaged_catalog_checks_the_record_with_the_bytes_it_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The packaged catalog hashes each file once, for the installer's record, the lock and the cache key alike."""
    root = _loading.guideline_root()

    def b64(data: bytes) -> str:
        import base64

        return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    recorded = {name: ("sha256", b64(entry.read_bytes())) for name, entry in _loading.guideline_files(root)}
    recorded["lock.json"] = ("sha256", b64((root / "lock.json").read_bytes()))
    monkeypatch.setattr(_dist, "recorded_hashes", lambda prefix: dict(recorded))
    assert _loading._Packaged(root).ids() == _loading.Catalog(root).ids()  # every recorded hash matches
    for name in ("thiamine/2012.1.toml", "lock.json"):  # a guideline file (hashed once) and the lock (read here)
        monkeypatch.setattr(_dist, "recorded_hashes", lambda prefix, name=name: {**recorded, name: ("sha256", "x")})
        with pytest.raises(ng.IntegrityError, match=name.replace(".", r"\.")):
            _loading._Packaged(root)
