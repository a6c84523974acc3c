"""schemathesis hooks for tests/api-fuzz.sh: a PATCH body of photo bytes.

`application/offset+octet-stream` (tus) is a media type schemathesis does not know; it gets
raw bytes — arbitrary ones, and the start of a real JPEG — so PATCH /v1/uploads/{sha256} is
fuzzed like every other operation.
"""

from hypothesis import strategies as st

import schemathesis

JPEG_START = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")

schemathesis.openapi.media_type(
    "application/offset+octet-stream",
    st.one_of(
        st.binary(max_size=4096),
        st.binary(max_size=2048).map(lambda tail: JPEG_START + tail),
    ),
)
