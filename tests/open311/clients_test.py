"""Xuncha's Open311 GeoReport v2 interface driven by two independently written Open311 clients
from PyPI, against a real `xuncha-server demo`:

- civicbot (0.4.0): its Open311Client lists services, validates a request against the live
  service list, posts it (form-encoded, with an API key), and reads requests back in JSON;
- georeport (0.3.1): reads services, a service definition and requests in JSON and in XML
  (parsed by xmltodict).

Run by tests/open311/run.sh, which passes the server's address, a key issued by
`xuncha-server open311-key` and the address of a photo on an allowed media host.
"""
import os
import sys

import requests
from civicbot.http import HttpError, HttpTransport, RateLimiter
from civicbot.open311 import CONFIRM_TOKEN, Open311Client
from civicbot.registry import Endpoint
from georeport import GeoReport

BASE = os.environ["XUNCHA_OPEN311"]
KEY = os.environ["XUNCHA_OPEN311_KEY"]
PHOTO_URL = os.environ["XUNCHA_PHOTO_URL"]
# Inside grid g1 of the demo city.
LAT, LNG = 30.2552, 120.1552


def step(what):
    print(f"-- {what}", flush=True)


def civicbot(require_key=True):
    endpoint = Endpoint(id="xuncha", name="Xuncha demo", base_url=BASE, write=True,
                        api_key_required_for_write=require_key)
    return Open311Client(endpoint, transport=HttpTransport(rate_limiter=RateLimiter(min_interval=0)))


def expect_http_error(status, fn):
    """The body of the error answer `fn` got (civicbot's HttpError or requests' HTTPError)."""
    try:
        fn()
    except HttpError as e:
        assert e.status == status, f"expected {status}, got {e.status}: {e.body}"
        return e.body
    except requests.HTTPError as e:
        got = e.response.status_code
        assert got == status, f"expected {status}, got {got}: {e.response.text}"
        return e.response.text
    raise AssertionError(f"expected HTTP {status}")


step("georeport: services and a definition, JSON and XML")
for fmt in ("json", "xml"):
    g = GeoReport(BASE, output_format=fmt)
    services = g.get_service_list()
    codes = [s["service_code"] for s in services]
    assert "0101" in codes, codes
    assert all(s["service_name"] for s in services)
    definition = g.get_service_definition("0101")
    assert definition["service_code"] == "0101", definition

step("civicbot: a citizen report with a photo on an allowed host, validated against the live list")
client = civicbot()
sent = client.create_request(
    "0101", dry_run=False, confirm=CONFIRM_TOKEN, api_key=KEY, validate_remote=True,
    lat=LAT, lng=LNG, address_string="演示路 8 号菜场门口", description="菜场门口垃圾堆了两天",
    first_name="明", last_name="李", phone="13800001234", email="li@example.cn",
    media_url=PHOTO_URL)
answer = sent.response
assert isinstance(answer, list) and answer[0]["service_request_id"], answer
request_id = answer[0]["service_request_id"]
print(f"   service_request_id {request_id}: {answer[0]['service_notice']}")

step("civicbot: the request read back, alone and in the open list")
one = client.get_request(request_id)
assert one["status"] == "open" and one["service_code"] == "0101", one
assert one["description"] == "菜场门口垃圾堆了两天", one
assert "13800001234" not in str(one), "the contact is never public"
listed = client.list_requests(status="open", service_code="0101")
assert request_id in [r["service_request_id"] for r in listed], listed

step("georeport: the same request in JSON and XML")
for fmt in ("json", "xml"):
    g = GeoReport(BASE, output_format=fmt)
    r = g.get_service_request(request_id)
    r = r[0] if isinstance(r, list) else r
    assert r["service_request_id"] == request_id and r["status"] == "open", r
    found = g.get_service_requests(service_code="0101", status="open")
    found = found if isinstance(found, list) else [found]
    assert request_id in [x["service_request_id"] for x in found], found

step("bad requests: Open311 errors, nothing made")
body = expect_http_error(403, lambda: civicbot(require_key=False).create_request(
    "0101", dry_run=False, confirm=CONFIRM_TOKEN, api_key=None, lat=LAT, lng=LNG))
assert '"code":403' in body, body
body = expect_http_error(404, lambda: client.create_request(
    "9999", dry_run=False, confirm=CONFIRM_TOKEN, api_key=KEY, lat=LAT, lng=LNG))
assert "9999" in body, body
body = expect_http_error(400, lambda: client.create_request(
    "0101", dry_run=False, confirm=CONFIRM_TOKEN, api_key=KEY, lat=LAT, lng=LNG,
    media_url="http://photos.elsewhere.example/p.jpg"))
assert "media_url" in body, body
body = expect_http_error(404, lambda: GeoReport(BASE).get_service_definition("9999"))
assert '"code":404' in body, body
after = client.list_requests()
assert len(after) == 1, f"only the one good report was made: {after}"
print("Open311 with stock clients (civicbot, georeport): passed")
sys.exit(0)
