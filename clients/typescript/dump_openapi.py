"""Print the app's OpenAPI document (no database, broker or Redis is contacted)."""

from app import create_app

if __name__ == "__main__":
    print(create_app({"TESTING": True}).test_client().get("/openapi.json").get_data(as_text=True))
