#!/usr/bin/env bash
# Builds the fuzzers' seed corpora from the repository's own cassettes: each cassette file seeds
# `cassette_load` and `cassette_scan` and its items `cassette_items`, and each recorded request
# (rendered in the target's line format) seeds `normalize_request`. Hand-written hostile cassettes
# (anchors and aliases, tags and nesting where the loader's scan once missed them) seed
# `cassette_load` and `cassette_scan`. Corpora live under fuzz/corpus/ and are never committed.
set -euo pipefail
cd "$(dirname "$0")"
root=..
mkdir -p corpus/cassette_load corpus/cassette_items corpus/cassette_scan corpus/normalize_request corpus/ingest_media

# `cassette_items` gets what follows a cassette's `interactions:` line, as the loader's parts are.
find "$root/cassettes" "$root/tests/fixtures" -name '*.yaml' -print0 |
    while IFS= read -r -d '' file; do
        seed_name="seed-$(basename "$(dirname "$file")")-$(basename "$file")"
        cp "$file" "corpus/cassette_load/$seed_name"
        cp "$file" "corpus/cassette_scan/$seed_name"
        sed '1,/^interactions:/d' "$file" >"corpus/cassette_items/$seed_name"
    done

# Hostile cassettes: the shapes of the security issue's findings on alias expansion, nesting that
# got past the scan, and tags it missed, in a cassette's header and request body.
head='format: 1\napi_version: "2020-07-14"\nivs_vcr_version: 0.1.0\nprovenance: {kind: authored, source: test}\nname: t\ninteractions:\n  - request:\n      method: POST\n      path: /GetChannel\n      region: us-west-2\n      body:\n'
tail='    response: {status: 200}\n'
deep="$(printf '[%.0s' {1..200})$(printf ']%.0s' {1..200})"
hostile() {
    printf '%b' "$head$2$tail" >"corpus/cassette_load/hostile-$1"
    printf '%b' "$head$2$tail" >"corpus/cassette_scan/hostile-$1"
}
hostile alias-laughs '        - &l [x, x, x, x, x, x, x, x]\n        - &m [*l, *l, *l, *l, *l, *l, *l, *l]\n        - [*m, *m, *m, *m, *m, *m, *m, *m]\n'
hostile alias-merge '        base: &b {a: 1}\n        <<: *b\n'
hostile anchor-deep "        deep: &a $deep\n"
hostile seq-tag-deep "        deep: !!seq $deep\n"
hostile block-sibling-deep "        - note: |\n            text\n          deep: $deep\n"
hostile anchor-binary '        arn: &a !!binary aGVsbG8=\n'
hostile flow-adjacent-binary '        {"arn":!!binary aGVsbG8=}\n'
hostile block-sibling-binary '        - note: |\n            text\n          arn: !!binary aGVsbG8=\n'
hostile anchor-set '        s: &s !!set {a, b}\n'
hostile plain-quote-binary '        a: x\n          "\n        arn: !!binary aGk=\n        b: y\n          "\n'
hostile verbatim-binary '        arn: !<tag:yaml.org,2002:binary> aGk=\n'
hostile flow-key-binary '        [?!!binary aGk=, :!!binary aGk=]\n'
hostile cr-breaks '        a: |\r          x\r        deep: !!seq [[[[x]]]]\r'
printf '%%TAG !e! tag:yaml.org,2002:\n---\n%b' "$head        arn: !e!binary aGk=\n$tail" >corpus/cassette_scan/hostile-tag-directive
cp corpus/cassette_scan/hostile-tag-directive corpus/cassette_load/

# Hand-written requests cover what the cassettes may not: tags routes, repeated keys, secrets,
# the account scrub (flags bit 0) and matched headers (flags bit 1).
seed() { printf '%b' "$2" >"corpus/normalize_request/seed-$1"; }
seed list '\0\nPOST\n/ListChannels\n\nus-west-2\n\n{}'
seed untag '\0\nDELETE\n/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A123456789012%3Achannel%2Fx\ntagKeys=b&tagKeys=a&tagKeys=b\nus-west-2\n\n'
seed secret '\1\nPOST\n/PutMetadata\n\nAWS4-HMAC-SHA256 Credential=AKID/20261126/eu-west-1/ivs/aws4_request, Signature=0\n\n{"channelArn":"arn:aws:ivs:eu-west-1:123456789012:channel/x","metadata":"s\\u00e9cret"}'
seed ignored '\2\npost\n/CreateChannel\n\nus-west-2\nname,tags.run-id,viewerSessions.*.viewerId\n{"name":"x","tags":{"run-id":"1","k":"v"}}'
seed keys '\0\nPOST\n/ImportPlaybackKeyPair\n\nus-west-2\n*\n{"publicKeyMaterial":"-----BEGIN PUBLIC KEY-----","privateKey":"k","streamKeys":[{"value":"sk_x"}]}'

# Every recorded request, when PyYAML is there to read the cassettes.
if python3 -c 'import yaml' 2>/dev/null; then
    python3 - "$root" <<'PY'
import json, pathlib, sys, urllib.parse, yaml
root = pathlib.Path(sys.argv[1])
out = pathlib.Path("corpus/normalize_request")
n = 0
for file in sorted([*root.glob("cassettes/*.yaml"), *root.glob("tests/fixtures/**/*.yaml")]):
    cassette = yaml.safe_load(file.read_text())
    matching = cassette.get("matching") or {}
    flags = (1 if matching.get("scrub_account") else 0) | (2 if matching.get("headers") else 0)
    ignored = ",".join(matching.get("ignore_body_paths") or [])
    for interaction in cassette.get("interactions") or []:
        req = interaction["request"]
        query = urllib.parse.urlencode(
            [(k, v) for k, values in (req.get("query") or {}).items() for v in values])
        body = json.dumps(req["body"]) if "body" in req else ""
        text = "\n".join([chr(flags), req["method"], req["path"], query, req["region"], ignored, body])
        (out / f"seed-{file.stem}-{n}").write_text(text)
        n += 1
print(f"normalize_request: {n} requests from cassettes")
PY
fi
echo "cassette_load: $(ls corpus/cassette_load | wc -l) seeds; cassette_scan: $(ls corpus/cassette_scan | wc -l) seeds; normalize_request: $(ls corpus/normalize_request | wc -l) seeds"

# `ingest_media`: a publish as the target reads it (kind, timestamp step, length, FLV body): the
# AVC sequence header with the SPS libx264 writes for 640x360, the AAC config, a keyframe, a
# frame, an AAC frame, and a keyframe a second later.
sps='\x67\x42\xc0\x1e\xda\x02\x80\xbf\xe5\xc0\x44\x00\x00\x03\x00\x04\x00\x00\x03\x00\xf0\x3c\x58\xba\x80'
printf '%b' "\x09\x00\x00\x00\x2d\x17\x00\x00\x00\x00\x01\x42\xc0\x1e\xff\xe1\x00\x19$sps\x01\x00\x04\x68\xce\x0f\xc8" \
    "\x08\x00\x00\x00\x04\xaf\x00\x12\x10" \
    "\x09\x00\x00\x00\x0c\x17\x01\x00\x00\x00\x00\x00\x00\x03\x65\xaa\xbb" \
    "\x09\x00\x21\x00\x0c\x27\x01\x00\x00\x00\x00\x00\x00\x03\x41\xaa\xbb" \
    "\x08\x00\x00\x00\x05\xaf\x01\x21\x10\x04" \
    "\x09\x03\xe8\x00\x0c\x17\x01\x00\x00\x00\x00\x00\x00\x03\x65\xaa\xbb" \
    >corpus/ingest_media/seed-publish
printf '%b' "\x07\x00\x00\x00\x19$sps" >corpus/ingest_media/seed-sps
