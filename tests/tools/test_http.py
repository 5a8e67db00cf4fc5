"""HTTP tools: real requests to a loopback API, from the short form and from OpenAPI; errors and
missing keys come back as observations; a key read from the environment never lands in a trace."""

import asyncio
import json

import pytest

from ann import Agent, Graph, Layer
from ann.bundle import make_bundle
from ann.errors import ConfigError
from ann.tools import load_tools
from tests.shop_api import SEEN, openapi, short_form


@pytest.mark.parametrize("form", [short_form, openapi])
def test_operations_are_called_for_real_with_path_query_and_body_arguments(api, tmp_path, monkeypatch, form):
    monkeypatch.setenv("SHOP_KEY", "sk-shop-secret")
    monkeypatch.setenv("ANN_TOOL_ENV", "SHOP_KEY")
    path = tmp_path / "api.json"
    path.write_text(json.dumps(form(api)), encoding="utf-8")
    tools = load_tools(path)
    stock, quote = tools["stock_level"], tools["quote"]
    assert stock.doc.value == "Look up stock." and stock.arg_docs["warehouse"].value == "code"
    assert stock.schema()["required"] == ["sku"] and quote.schema()["required"] == ["grams"]
    result = asyncio.run(stock.call({"sku": "SKU-1042", "warehouse": "BER"}))
    assert result.ok and json.loads(result.output)["units"] == 7
    assert SEEN[0]["path"] == "/stock/SKU-1042" and SEEN[0]["query"] == {"warehouse": ["BER"]}
    assert asyncio.run(quote.call({"grams": 250})).output == '{"quote": 2.5}'
    assert SEEN[1]["body"] == {"grams": 250}
    missing = asyncio.run(stock.call({"sku": "1042"}))
    assert (
        not missing.ok
        and missing.output == 'RuntimeError: HTTP 404: {"error": "unknown sku 1042; skus look like SKU-1042"}'
    )
    unknown = asyncio.run(stock.call({"sku": "SKU-1042", "store": "x"}))
    assert not unknown.ok and "unknown argument 'store'" in unknown.output


def test_a_key_from_the_environment_is_sent_but_never_kept(api, tmp_path, monkeypatch, scripted):
    monkeypatch.setenv("SHOP_KEY", "sk-shop-secret")
    monkeypatch.setenv("ANN_TOOL_ENV", "SHOP_KEY")
    path = tmp_path / "api.yaml"
    path.write_text(json.dumps(short_form(api)), encoding="utf-8")
    tool = load_tools(path)["stock_level"]

    def reply(messages):
        if messages[-1]["content"].startswith("Observation"):
            return json.dumps({"action": "final_answer", "answer": "7"})
        return json.dumps({"action": "stock_level", "arguments": {"sku": "SKU-1042", "warehouse": "BER"}})

    graph = Graph([Layer("solve", [Agent("clerk", tools=[tool])], inputs=["q"], outputs=["answer"])],
                  inputs=["q"], outputs=["answer"], lm=scripted(reply))  # fmt: skip
    result = graph(q="How many of item 1042 in Berlin?")
    assert result.outputs["answer"] == "7" and SEEN[0]["auth"] == "Bearer sk-shop-secret"
    kept = json.dumps(result.trace.to_dict()) + make_bundle(graph).model_dump_json()
    assert "sk-shop-secret" not in kept
    assert json.loads(make_bundle(graph).model_dump_json())["spec"]["tools"] == str(path.resolve())
    monkeypatch.delenv("SHOP_KEY")
    unset = asyncio.run(tool.call({"sku": "SKU-1042"}))
    assert not unset.ok and "environment variable SHOP_KEY" in unset.output


def test_a_bad_api_file_is_one_line_naming_the_file_and_field(tmp_path):
    path = tmp_path / "api.json"
    path.write_text(json.dumps({"operations": [{"name": "x"}]}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"api\.json: operations\.0\.url: Field required"):
        load_tools(path)
    path.write_text(json.dumps({"openapi": "3.0.0", "paths": {}}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"api\.json: cannot read API tools \(the OpenAPI document has no servers"):
        load_tools(path)


def test_a_header_may_name_only_variables_the_operation_declares(tmp_path, api):
    path = tmp_path / "api.yaml"
    operation = short_form(api)["operations"][0]
    path.write_text(json.dumps({"operations": [{**operation, "env": []}]}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"api\.yaml: operations\.0: .*header Authorization reads \$\{SHOP_KEY\}, "
                       r"which `env:` does not declare"):  # fmt: skip
        load_tools(path)
    moving_host = {**operation, "url": "http://{host}/stock/{sku}"}
    path.write_text(json.dumps({"operations": [moving_host]}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"must name its host, not take it from an argument"):
        load_tools(path)


@pytest.mark.parametrize(
    ("allowed", "sent"),
    [(None, False), ("OTHER_KEY", False), ("SHOP_KEY@shop.example", False), ("SHOP_KEY@127.0.0.1", True),
     ("OTHER_KEY, SHOP_KEY", True)],
)  # fmt: skip
def test_a_declared_variable_is_sent_only_where_the_user_allows_it(api, tmp_path, monkeypatch, allowed, sent):
    monkeypatch.setenv("SHOP_KEY", "sk-shop-secret")
    if allowed is None:
        monkeypatch.delenv("ANN_TOOL_ENV", raising=False)
    else:
        monkeypatch.setenv("ANN_TOOL_ENV", allowed)
    path = tmp_path / "api.yaml"
    path.write_text(json.dumps(short_form(api)), encoding="utf-8")
    result = asyncio.run(load_tools(path)["stock_level"].call({"sku": "SKU-1042"}))
    if sent:
        assert result.ok and SEEN[0]["auth"] == "Bearer sk-shop-secret"
    else:
        assert not result.ok and SEEN == []  # no request at all, so the key went nowhere
        assert "environment variable SHOP_KEY, which the user has not allowed for 127.0.0.1" in result.output
        assert "ANN_TOOL_ENV=SHOP_KEY" in result.output and "sk-shop-secret" not in result.output
