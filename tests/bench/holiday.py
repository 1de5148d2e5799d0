"""Locust users of the holiday load (driven by ``make load``: tests/bench/load.py).

80 % browse (book lists by genre and sort, book details, genres), 15 % search, 5 % registered
shoppers who fill a cart and check out. The load ramps by LOAD_STEP_USERS every
LOAD_STEP_SECONDS up to LOAD_MAX_USERS (a step shape: the knee is read per step).
Inputs (from the driver): LOAD_FIXTURE, a JSON file of genre slugs, book ids, search words
and shoppers' bearer tokens."""

from __future__ import annotations

import itertools
import json
import os
import random
import threading

from locust import HttpUser, LoadTestShape, between, task

FIXTURE = json.loads(open(os.environ["LOAD_FIXTURE"]).read())  # noqa: SIM115
STEP_USERS = int(os.environ.get("LOAD_STEP_USERS", "8"))
STEP_SECONDS = int(os.environ.get("LOAD_STEP_SECONDS", "20"))
MAX_USERS = int(os.environ.get("LOAD_MAX_USERS", "160"))
SORTS = ("bestselling", "newest", "rating", "price", "-price", "title")
_tokens = itertools.cycle(FIXTURE["tokens"])
_token_lock = threading.Lock()


class Browser(HttpUser):
    weight = 80
    wait_time = between(0.05, 0.2)

    @task(5)
    def genre_page(self):
        genre = random.choice(FIXTURE["genres"])
        self.client.get(
            f"/api/v1/books?genre={genre}&sort={random.choice(SORTS)}&limit=20",
            name="/api/v1/books?genre&sort",
        )

    @task(4)
    def book(self):
        self.client.get(f"/api/v1/books/{random.choice(FIXTURE['books'])}", name="/books/{id}")

    @task(1)
    def genres(self):
        self.client.get("/api/v1/genres")


class Searcher(HttpUser):
    weight = 15
    wait_time = between(0.05, 0.2)

    @task
    def search(self):
        words = random.choice(FIXTURE["words"])
        self.client.get(f"/api/v1/search?q={words}&limit=20", name="/api/v1/search?q")


class Shopper(HttpUser):
    """A registered shopper: a cart of one or two books, then checkout (one order each)."""

    weight = 5
    wait_time = between(0.2, 0.5)

    def on_start(self):
        with _token_lock:
            self.headers = {"Authorization": f"Bearer {next(_tokens)}"}

    @task
    def buy(self):
        for book in random.sample(FIXTURE["books"], random.choice((1, 2))):
            self.client.post(
                "/api/v1/cart/items",
                json={"book_id": book, "quantity": 1},
                headers=self.headers,
                name="/api/v1/cart/items",
            )
        self.client.post(
            "/api/v1/checkout",
            json=FIXTURE["checkout_body"],
            headers=self.headers,
            name="/api/v1/checkout",
        )
        with _token_lock:  # a fresh shopper next time (one open order per cart)
            self.headers = {"Authorization": f"Bearer {next(_tokens)}"}


class Ramp(LoadTestShape):
    """STEP_USERS more users every STEP_SECONDS, up to MAX_USERS."""

    def tick(self):
        run_time = self.get_run_time()
        step = int(run_time // STEP_SECONDS) + 1
        users = step * STEP_USERS
        if users > MAX_USERS:
            return None
        return users, STEP_USERS
