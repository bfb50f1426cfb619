#!/bin/sh
# Copy the front-end assets pinned in package-lock.json from node_modules (made by `npm ci`)
# into maps/static/vendor, which is committed so that a machine without Node serves them too.
set -eu
cd "$(dirname "$0")/../.."
src=node_modules
dst=maps/static/vendor
rm -rf "$dst"
mkdir -p "$dst/leaflet/images" "$dst/jquery" "$dst/bootstrap" "$dst/fontawesome/css" \
  "$dst/fontawesome/webfonts" "$dst/awesome-markers/images" "$dst/vectorgrid" "$dst/swagger-ui"
cp "$src/leaflet/dist/leaflet.js" "$src/leaflet/dist/leaflet.css" "$dst/leaflet/"
cp "$src/leaflet/dist/images/"*.png "$dst/leaflet/images/"
cp "$src/leaflet/LICENSE" "$dst/leaflet/"
cp "$src/jquery/dist/jquery.min.js" "$src/jquery/LICENSE.txt" "$dst/jquery/"
cp "$src/bootstrap/dist/js/bootstrap.bundle.min.js" "$src/bootstrap/dist/css/bootstrap.min.css" \
  "$src/bootstrap/LICENSE" "$dst/bootstrap/"
cp "$src/@fortawesome/fontawesome-free/css/all.min.css" "$dst/fontawesome/css/"
cp "$src/@fortawesome/fontawesome-free/webfonts/"*.woff2 "$src/@fortawesome/fontawesome-free/webfonts/"*.ttf \
  "$dst/fontawesome/webfonts/"
cp "$src/@fortawesome/fontawesome-free/LICENSE.txt" "$dst/fontawesome/"
cp "$src/leaflet.awesome-markers/dist/leaflet.awesome-markers.js" \
  "$src/leaflet.awesome-markers/dist/leaflet.awesome-markers.css" "$dst/awesome-markers/"
cp "$src/leaflet.awesome-markers/dist/images/"*.png "$dst/awesome-markers/images/"
cp "$src/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js" "$src/leaflet.vectorgrid/package.json" \
  "$dst/vectorgrid/"
cp "$src/swagger-ui-dist/swagger-ui-bundle.js" "$src/swagger-ui-dist/swagger-ui.css" \
  "$src/swagger-ui-dist/LICENSE" "$src/swagger-ui-dist/package.json" "$dst/swagger-ui/"
echo "vendored into $dst"
