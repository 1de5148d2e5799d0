"""The bearer-token guard shared by every protected endpoint."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from flask import Blueprint, jsonify

from app import create_app
from app.auth import current_user, login_required, staff_required
from models import Role
from services.accounts.tokens import issue_access_token
from tests.factories import auth_headers, make_user


@pytest.fixture
def guarded(session):
    other = create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False})
    blp = Blueprint("guarded", __name__)

    @blp.get("/me-probe")
    @login_required
    def me_probe():
        return jsonify(id=str(current_user().id))

    @blp.get("/staff-probe")
    @staff_required
    def staff_probe():
        return jsonify(ok=True)

    other.register_blueprint(blp)
    return other


def test_valid_token_identifies_the_user(guarded):
    user = make_user()
    response = guarded.test_client().get("/me-probe", headers=auth_headers(guarded, user))
    assert response.status_code == 200
    assert response.json["id"] == str(user.id)


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer not-a-jwt", "Basic abc", "Bearer " + "x.y.z"],
)
def test_missing_or_malformed_token_is_401(guarded, header):
    headers = {"Authorization": header} if header else {}
    response = guarded.test_client().get("/me-probe", headers=headers)
    assert response.status_code == 401
    assert response.json["error"] in ("invalid_token",)


def test_expired_tampered_none_and_wrong_key_tokens_are_401(guarded):
    user = make_user()
    secret = guarded.config["JWT_SECRET_KEY"]
    expired = issue_access_token(
        user.id, user.role, secret, 60, now=datetime.now(UTC) - timedelta(hours=1)
    )
    wrong_key = issue_access_token(
        user.id, user.role, "another-key-entirely-and-long-enough-for-hs256", 60
    )
    good = issue_access_token(user.id, Role.CUSTOMER, secret, 60)
    head, _payload, signature = good.split(".")
    forged_payload = jwt.utils.base64url_encode(
        jwt.api_jws.json.dumps(
            {"sub": str(user.id), "role": "admin", "typ": "access", "exp": 4102444800}
        ).encode()
    ).decode()
    tampered = f"{head}.{forged_payload}.{signature}"
    none_alg = jwt.encode(
        {"sub": str(user.id), "role": "admin", "typ": "access", "exp": 4102444800},
        None,
        algorithm="none",
    )
    client = guarded.test_client()
    for token in (expired, wrong_key, tampered, none_alg):
        response = client.get("/me-probe", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert response.json["error"] == "invalid_token"


def test_customer_on_staff_endpoint_is_403_and_staff_passes(guarded):
    client = guarded.test_client()
    customer = make_user()
    staff = make_user(role=Role.STAFF)
    assert client.get("/staff-probe", headers=auth_headers(guarded, customer)).status_code == 403
    assert client.get("/staff-probe", headers=auth_headers(guarded, staff)).status_code == 200
