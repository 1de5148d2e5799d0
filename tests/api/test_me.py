"""The signed-in user's profile and address book; nobody reaches another user's records."""

from __future__ import annotations

import uuid

from tests.factories import auth_headers, make_user

HOME = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "gb",
}


def test_me_shows_the_profile_without_any_password(client, app):
    user = make_user()
    response = client.get("/api/v1/me", headers=auth_headers(app, user))
    assert response.status_code == 200
    assert response.json["email"] == user.email
    assert not any("password" in key for key in response.json)


def test_me_needs_a_token(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"


def test_patch_me_changes_the_name_but_not_the_role_or_email(client, app):
    user = make_user()
    response = client.patch("/api/v1/me", headers=auth_headers(app, user), json={"name": "Ada L."})
    assert response.status_code == 200
    assert response.json["name"] == "Ada L."
    sneaky = client.patch(
        "/api/v1/me", headers=auth_headers(app, user), json={"role": "admin", "email": "x@y.z"}
    )
    assert sneaky.status_code == 422
    assert client.get("/api/v1/me", headers=auth_headers(app, user)).json["role"] == "customer"


def test_address_book_create_list_update_delete(client, app):
    headers = auth_headers(app, make_user())
    created = client.post("/api/v1/me/addresses", headers=headers, json=HOME)
    assert created.status_code == 201
    address = created.json
    assert address["country"] == "GB"
    assert uuid.UUID(address["id"])

    listed = client.get("/api/v1/me/addresses", headers=headers).json
    assert [item["id"] for item in listed["items"]] == [address["id"]]

    patched = client.patch(
        f"/api/v1/me/addresses/{address['id']}", headers=headers, json={"line2": "Flat 3"}
    )
    assert patched.status_code == 200
    assert patched.json["line2"] == "Flat 3" and patched.json["city"] == "London"

    deleted = client.delete(f"/api/v1/me/addresses/{address['id']}", headers=headers)
    assert deleted.status_code == 204
    assert client.get("/api/v1/me/addresses", headers=headers).json["items"] == []


def test_address_validation_names_the_fields(client, app):
    headers = auth_headers(app, make_user())
    response = client.post(
        "/api/v1/me/addresses", headers=headers, json={**HOME, "country": "Britain", "city": ""}
    )
    assert response.status_code == 422
    assert response.json["error"] == "validation_error"
    assert set(response.json["errors"]["json"]) == {"country", "city"}


def test_another_users_address_is_404_for_read_update_and_delete(client, app):
    owner = make_user()
    intruder = auth_headers(app, make_user())
    address_id = client.post(
        "/api/v1/me/addresses", headers=auth_headers(app, owner), json=HOME
    ).json["id"]

    patched = client.patch(
        f"/api/v1/me/addresses/{address_id}", headers=intruder, json={"city": "Paris"}
    )
    deleted = client.delete(f"/api/v1/me/addresses/{address_id}", headers=intruder)
    for response in (patched, deleted):
        assert response.status_code == 404
        assert response.json["error"] == "not_found"
    assert client.get("/api/v1/me/addresses", headers=intruder).json["items"] == []
    owner_view = client.get("/api/v1/me/addresses", headers=auth_headers(app, owner)).json
    assert owner_view["items"][0]["city"] == "London"


def test_unknown_address_id_is_404(client, app):
    response = client.delete(
        f"/api/v1/me/addresses/{uuid.uuid4()}", headers=auth_headers(app, make_user())
    )
    assert response.status_code == 404
