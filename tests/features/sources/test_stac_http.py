"""The STAC route over HTTP: items and GeoTIFFs served from 127.0.0.1 with range requests."""

import re
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from cropcast.features.sources.imagery import folder_catalog, read_scenes, stac_catalog
from cropcast.features.sources.products import PRESETS


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with single byte-range support, as GDAL's /vsicurl/ needs."""

    def log_message(self, *args):  # keep test output clean
        pass

    def send_head(self):
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if not match:
            return super().send_head()
        path = self.translate_path(self.path)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - returned to the base class
        except OSError:
            self.send_error(404)
            return None
        size = handle.seek(0, 2)
        start = int(match.group(1))
        end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        handle.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self._remaining = end - start + 1
        return handle

    def copyfile(self, source, outputfile):
        remaining = getattr(self, "_remaining", None)
        if remaining is None:
            return super().copyfile(source, outputfile)
        outputfile.write(source.read(remaining))
        return None


@pytest.fixture
def served(tiny_world):
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler,
                                                           directory=str(tiny_world.root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_stac_over_http_reads_the_same_pixels(tiny_world, served):
    product = PRESETS["MOD13Q1"]
    remote = stac_catalog(f"{served}/imagery/stac_items.json", product)
    assert remote["path"].str.startswith(f"/vsicurl/{served}/imagery/MOD13Q1/").all()
    local = folder_catalog(tiny_world.root / "imagery", product)
    date = local["date"].iloc[-1]
    for a, b in zip(read_scenes(local, product, date), read_scenes(remote, product, date),
                    strict=True):
        assert a.tile == b.tile
        np.testing.assert_array_equal(a.good, b.good)
        np.testing.assert_array_equal(a.values["NDVI"], b.values["NDVI"])
