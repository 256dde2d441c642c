"""Which picture an entry shows: its image link, or a link that names a picture."""

from __future__ import annotations

from engine.entries import shown_image


def test_an_entry_shows_its_image_or_a_link_that_names_a_picture() -> None:
    assert shown_image("https://x.org/a.png", "https://x.org/page") == "https://x.org/a.png"
    for link in ("https://x.org/forest.JPG?w=800", "https://x.org/forest.jpg#top",
                 "https://cdn.x.org/attachments/1/2/shot.webp?ex=1&is=2"):
        assert shown_image(None, link) == link
    for link in ("https://x.org/page", "https://x.org/png", "https://x.org/a.png.html",
                 "https://x.org/?file=a.png", None):
        assert shown_image(None, link) is None
