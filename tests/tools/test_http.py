"""HTTP tools: real requests to a loopback API, from the short form and from OpenAPI; errors and
missing keys come back as observations; a key read from the environment never lands in a trace."""

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from ann import Agent, Graph, Layer
from ann.bundle import make_bundle
from ann.errors import ConfigError
from ann.tools import load_tools

SEEN = []
STOCK = {"SKU-1042": {"BER": 7, "OSL": 0}}


class Api(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        SEEN.append({"path": url.path, "query": parse_qs(url.query), "auth": self.headers.get("Authorization")})
        sku = url.path.rsplit("/", 1)[-1]
        warehouse = parse_qs(url.query).get("warehouse", [""])[0]
        if sku not in STOCK:
            self._send(404, {"error": f"unknown sku {sku}; skus look like SKU-1042"})
        else:
            self._send(200, {"sku": sku, "warehouse": warehouse, "units": STOCK[sku].get(warehouse, 0)})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        SEEN.append({"path": self.path, "body": body})
        self._send(200, {"quote": round(body["grams"] * 0.01, 2)})


@pytest.fixture
def api():
    SEEN.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def short_form(base):
    return {
        "operations": [
            {
                "name": "stock_level",
                "url": f"{base}/stock/{{sku}}",
                "description": "Look up stock.",
                "parameters": {"sku": {"type": "string"}, "warehouse": {"type": "string", "description": "code"}},
                "required": ["sku"],
                "headers": {"Authorization": "Bearer ${SHOP_KEY}"},
            },
            {"name": "quote", "method": "POST", "url": f"{base}/quote", "parameters": {"grams": {"type": "integer"}}},
        ]
    }


def openapi(base):
    return {
        "openapi": "3.0.0",
        "servers": [{"url": base}],
        "paths": {
            "/stock/{sku}": {
                "get": {
                    "operationId": "stock_level",
                    "summary": "Look up stock.",
                    "parameters": [
                        {"name": "sku", "in": "path", "schema": {"type": "string"}},
                        {"name": "warehouse", "in": "query", "description": "code", "schema": {"type": "string"}},
                    ],
                }
            },
            "/quote": {
                "post": {
                    "operationId": "quote",
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Q"}}}},
                }
            },
        },
        "components": {
            "schemas": {"Q": {"type": "object", "properties": {"grams": {"type": "integer"}}, "required": ["grams"]}}
        },  # fmt: skip
    }


@pytest.mark.parametrize("form", [short_form, openapi])
def test_operations_are_called_for_real_with_path_query_and_body_arguments(api, tmp_path, monkeypatch, form):
    monkeypatch.setenv("SHOP_KEY", "sk-shop-secret")
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
