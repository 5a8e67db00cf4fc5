"""A tiny shop API on 127.0.0.1 for HTTP-tool tests: stock lookups (GET) and quotes (POST)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

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
                "env": ["SHOP_KEY"],
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
