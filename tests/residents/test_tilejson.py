"""TileJSON documents for the tile layers, and tile bounds from morecantile's grid."""

from __future__ import annotations

import pytest

from data.queries.tiles import _lonlat_bounds


def test_tile_bounds_follow_web_mercator_quad():
    lon0, lat0, lon1, lat1 = _lonlat_bounds(1, 1, 0, 0.0)
    assert (lon0, lon1) == (0.0, 180.0)
    assert lat0 == pytest.approx(0.0, abs=1e-9) and lat1 == pytest.approx(85.0511287798, abs=1e-6)


@pytest.mark.parametrize("layer", ["grids", "overlay", "basemap"])
def test_tilejson_names_the_url_bounds_and_fields(client, layer):
    r = client.get(f"/tiles/{layer}.json", params={"coordsys": "gcj02"})
    assert r.status_code == 200
    doc = r.json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == [f"http://testserver/tiles/{layer}/{{z}}/{{x}}/{{y}}.pbf?coordsys=gcj02"]
    lon0, lat0, lon1, lat1 = doc["bounds"]
    assert 108.5 < lon0 < lon1 < 110 and 27 < lat0 < lat1 < 28.5
    layers = {v["id"]: v for v in doc["vector_layers"]}
    if layer == "grids":
        assert set(layers["grids"]["fields"]) == {"code", "number", "name", "community"}
    elif layer == "overlay":
        assert list(layers) == ["streets", "communities", "grids"]
    else:
        assert set(layers) == {"water", "compounds", "buildings", "roads"}
        assert layers["buildings"]["minzoom"] == 15


def test_tilejson_of_an_unknown_layer_is_refused(client):
    assert client.get("/tiles/households.json").status_code == 422
    assert client.get("/tiles/labels.json").status_code == 200  # the labels, not a TileJSON
