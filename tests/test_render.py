import pytest

from ann.errors import AnnError
from ann.render import render


def test_render_fills_and_rejects_mismatches():
    assert render("Hi {name}, {{literal}}", name="Ann") == "Hi Ann, {literal}"
    with pytest.raises(AnnError, match="missing \\['name'\\]"):
        render("Hi {name}")
    with pytest.raises(AnnError, match="unexpected \\['extra'\\]"):
        render("Hi {name}", name="a", extra="b")
