"""The offline check of built pages (run on the real build by `nox -s docs`)."""

from __future__ import annotations

from pathlib import Path

from tools.offline_check import external_resources, main


def test_outside_scripts_styles_and_fonts_are_found() -> None:
    page = """
    <script src="https://cdn.example/mathjax/tex-chtml.js"></script>
    <link rel="stylesheet" href="//fonts.example/css">
    <img src="http://img.example/a.png">
    <style>@font-face { src: url("https://fonts.example/a.woff2"); }</style>
    """
    found = list(external_resources(page))
    assert len(found) == 4


def test_local_resources_and_plain_links_pass() -> None:
    page = """
    <script src="_static/documentation_options.js"></script>
    <link rel="stylesheet" href="_static/furo.css">
    <link rel="canonical" href="https://example.org/page.html">
    <a href="https://doi.org/10.2337/dc26-S012">doi</a>
    <style>.x { background: url(data:image/svg+xml;base64,AAAA); }</style>
    """
    assert list(external_resources(page)) == []


def test_main_fails_on_an_outside_resource(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text('<script src="https://cdn.example/x.js"></script>')
    assert main([str(tmp_path)]) == 1
    (tmp_path / "a.html").write_text('<script src="_static/x.js"></script>')
    assert main([str(tmp_path)]) == 0
    assert main([str(tmp_path / "empty")]) == 1
