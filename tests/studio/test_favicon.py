"""The studio has a favicon: linked from every page, and /favicon.ico (which browsers ask for
whatever a page links) does not 404."""

from __future__ import annotations

import urllib.request
import xml.etree.ElementTree as ElementTree

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_it_links_the_svg_favicon_from_every_page(client, user):
    assert '<link rel="icon" href="/static/studio/favicon.svg" type="image/svg+xml">' in \
        client.get("/accounts/login/").content.decode()
    client.force_login(user)
    assert 'href="/static/studio/favicon.svg"' in client.get("/jobs/").content.decode()


def test_it_is_an_svg_in_the_studios_colours():
    root = ElementTree.parse(finders.find("studio/favicon.svg")).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    fills = {element.get("fill") for element in root.iter() if element.get("fill")}
    assert fills == {"#1b2540", "#7fa2ff"}  # the top bar and the brand's diamond (studio.css)


def test_it_answers_favicon_ico_with_the_svg(live_server):
    with urllib.request.urlopen(f"{live_server.url}/favicon.ico") as response:
        assert response.url == f"{live_server.url}/static/studio/favicon.svg"
        assert response.headers["Content-Type"].startswith("image/svg+xml")
        assert b"<svg" in response.read()
