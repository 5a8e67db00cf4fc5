"""redact(): which environment values count as secrets, and that each is masked wherever it shows."""

import subprocess
import sys

import pytest

from ann.lm import ModelConfig
from ann.redact import MASK, redact, secret_values


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANN_TOOL_ENV", raising=False)


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "HF_TOKEN", "DB_PASSWORD", "my_secret", "AZURE_AUTH"])
def test_a_variable_named_like_a_secret_is_masked_everywhere_it_shows(monkeypatch, name) -> None:
    monkeypatch.setenv(name, "value-0123456789")
    text = "got value-0123456789, twice: 'value-0123456789'"
    assert redact(text) == f"got {MASK}, twice: '{MASK}'"


def test_a_variable_http_tools_may_read_is_a_secret_whatever_its_name(monkeypatch) -> None:
    monkeypatch.setenv("SHOP_CREDS", "creds-0123456789")
    assert "creds-0123456789" not in secret_values()
    monkeypatch.setenv("ANN_TOOL_ENV", "OTHER, SHOP_CREDS@api.example.com")
    assert redact("Bearer creds-0123456789") == f"Bearer {MASK}"


def test_short_values_and_other_variables_are_left_alone(monkeypatch) -> None:
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    monkeypatch.setenv("GREETING", "hello-0123456789")
    assert redact("false hello-0123456789") == "false hello-0123456789"


def test_an_extra_secret_is_masked_and_the_longest_goes_first(monkeypatch) -> None:
    monkeypatch.setenv("A_KEY", "sk-0123456789")
    assert redact("sk-0123456789-more", ["sk-0123456789-more", None]) == MASK


def test_credentials_in_a_url_are_masked_and_a_model_description_shows_none() -> None:
    url = "https://bob:not-in-any-env-var@llm.example.com/v1"
    assert redact(f"calling {url} failed") == "calling https://[redacted]@llm.example.com/v1 failed"
    assert redact("see http://example.com/a@b") == "see http://example.com/a@b"
    assert "not-in-any-env-var" not in ModelConfig("openai/x", api_base=url).describe()


def test_a_megabyte_word_is_redacted_in_one_pass() -> None:
    # A hostile bundle's value quoted in an error: the URL pattern once retried at every letter of a
    # long word (600 KB took minutes). In a child with a deadline, so a regression fails, not hangs.
    code = (
        "from ann.redact import redact\n"
        "text = 'x' * 2_000_000 + ' https://u:pw-123456@host/ ' + 'y' * 2_000_000\n"
        "assert redact(text).count('[redacted]@host') == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
