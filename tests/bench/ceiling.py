"""The machine's ceiling: a bare Flask endpoint returning 20 small JSON items."""

from flask import Flask, jsonify

app = Flask(__name__)
ITEMS = [{"id": n, "title": f"Book {n}", "price_cents": 999 + n} for n in range(20)]


@app.get("/items")
def items():
    return jsonify(items=ITEMS, next_cursor=None)
