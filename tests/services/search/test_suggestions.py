"""The suggestion rows follow the documents: a renamed book completes by its new title, an
archived one is gone, an author is as popular as their indexed books and leaves with the last."""

from __future__ import annotations

from sqlalchemy import delete, update

from models import Book, BookAuthor, BookStatus, db
from services.search.documents import rebuild_all, write_documents
from services.search.postgres import PostgresSearch
from tests.factories import make_book


def suggested(prefix: str) -> list[tuple[str, str]]:
    return [(item["type"], item["text"]) for item in PostgresSearch().suggest(prefix)]


def test_suggestions_follow_writes_of_documents(session):
    # Given two books by one author, indexed
    first = make_book("Quillfeather Tides", authors=["Ysolde Quillan"], ratings_count=30)
    second = make_book("Quillfeather Dawn", authors=["Ysolde Quillan"], ratings_count=5)
    write_documents(session, [first.id, second.id])
    # then the author (35 ratings) comes before her books, each by its popularity
    assert suggested("quill") == [
        ("author", "Ysolde Quillan"),
        ("book", "Quillfeather Tides"),
        ("book", "Quillfeather Dawn"),
    ]
    # When the first is renamed: it completes by its new title only, the author still by name
    session.execute(update(Book).where(Book.id == first.id).values(title="Marram Grass"))
    write_documents(session, [first.id])
    assert ("book", "Marram Grass") in suggested("marr")
    assert [text for _, text in suggested("quillf")] == ["Quillfeather Dawn"]
    # When the second is archived and the first loses its author: she is no longer suggested
    session.execute(update(Book).where(Book.id == second.id).values(status=BookStatus.ARCHIVED))
    session.execute(delete(BookAuthor).where(BookAuthor.book_id == first.id))
    write_documents(session, [first.id, second.id])
    assert suggested("quill") == []
    # and a full rebuild gives the same rows
    rebuild_all(session)
    assert suggested("quill") == [] and suggested("marr") == [("book", "Marram Grass")]


def test_an_author_is_as_popular_as_their_books(session):
    popular = make_book("Orrery Nights", authors=["Orla Brightwater"], ratings_count=10)
    rival = make_book("Orris Root", authors=["Orson Pell"], ratings_count=25)
    write_documents(session, [popular.id, rival.id])
    # (on equal popularity a book comes before an author)
    assert suggested("or")[:2] == [("book", "Orris Root"), ("author", "Orson Pell")]
    # Two more books make Orla more popular than Orson
    more = [
        make_book(f"Brightwater Tales {n}", authors=["Orla Brightwater"], ratings_count=10)
        for n in range(2)
    ]
    write_documents(db.session, [book.id for book in more])
    assert suggested("or")[0] == ("author", "Orla Brightwater")
