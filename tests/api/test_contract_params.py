"""The contract a frontend relies on: unknown parameters and fields are refused by name,
`language` in any case and checked against the catalog (GET /languages), title sort."""

from __future__ import annotations

from tests.factories import auth_headers, make_book, make_user

BOOKS = "/api/v1/books"


def test_unknown_query_parameter_is_a_422_naming_it(client):
    # given a catalog with a book
    make_book("The Hobbit", 999)
    # when a frontend sends a parameter the operation does not have (or misspells one)
    for name in ("q", "gnere"):
        response = client.get(BOOKS, query_string={name: "fantasy"})
        # then it is refused by name rather than answered with the unfiltered catalog
        assert response.status_code == 422, response.json
        assert response.json["error"] == "validation_error"
        assert "Unknown field." in str(response.json["errors"]["query"][name])


def test_unknown_body_field_is_a_422_naming_it(client, app):
    # given a customer
    user = make_user()
    # when the address body carries a field the schema does not know
    response = client.post(
        "/api/v1/me/addresses",
        json={
            "name": "A",
            "line1": "1 Road",
            "city": "Town",
            "postal_code": "12345",
            "country": "US",
            "colour": "blue",
        },
        headers=auth_headers(app, user),
    )
    # then the field is named in the 422
    assert response.status_code == 422, response.json
    assert "colour" in response.json["errors"]["json"]


def test_language_matches_any_case_and_unknown_codes_point_to_languages(client):
    # given English and French books
    make_book("Frankenstein", 900, language="en")
    make_book("Dracula", 900, language="en")
    make_book("Le Petit Prince", 700, language="fr")
    # when filtered by an upper-case code
    response = client.get(BOOKS, query_string={"language": "EN", "sort": "title"})
    # then the English books come back
    assert [item["title"] for item in response.json["items"]] == ["Dracula", "Frankenstein"]
    # when filtered by a code no book has
    response = client.get(BOOKS, query_string={"language": "xx"})
    # then it is a 422 that says where the valid codes are
    assert response.status_code == 422
    assert response.json["error"] == "unknown_language"
    assert "/api/v1/languages" in response.json["message"]
    # and GET /languages lists the codes in use with their counts, most books first
    languages = client.get("/api/v1/languages")
    assert languages.status_code == 200
    assert languages.json["items"] == [
        {"code": "en", "books_count": 2},
        {"code": "fr", "books_count": 1},
    ]


def test_title_sort_ignores_leading_punctuation_and_articles(client):
    # given titles with quotes, articles, accents and non-Latin scripts
    for title in (
        "العنوان",
        "\"Salem's Lot",
        "The Hobbit",
        "Émile",
        "A Tale of Two Cities",
        "Anna Karenina",
        "1984",
        "Война и мир",
        "zebra",
        "...And Then There Were None",
    ):
        make_book(title, 500)
    # when sorted by title, two per page
    seen, cursor = [], None
    while True:
        query = {"sort": "title", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(BOOKS, query_string=query).json
        seen += [item["title"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # then punctuation and articles are ignored and Latin comes before other scripts
    assert seen == [
        "1984",
        "...And Then There Were None",
        "Anna Karenina",
        "Émile",
        "The Hobbit",
        "\"Salem's Lot",
        "A Tale of Two Cities",
        "zebra",
        "Война и мир",
        "العنوان",
    ]


def test_operations_without_query_parameters_refuse_any(client):
    # when a query parameter is sent to operations that take none
    for url in ("/api/v1/cart?colour=blue", "/api/v1/genres?colour=blue"):
        response = client.get(url)
        # then it is refused by name too
        assert response.status_code == 422, url
        assert response.json["errors"] == {"query": {"colour": ["Unknown field."]}}
